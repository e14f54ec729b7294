/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a counter-based
/// generator, so a random number is a pure function of (key, counter) with no state to carry between calls.
/// That is what makes a dropout mask depend only on (seed, step, sample, site), never on how a batch is
/// split across ranks or threads.
public enum Philox {
    /// Ten rounds of the Philox4x32 bijection of `counter` under `key`.
    @inlinable @inline(__always)
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter
        var k = key
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c.x)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c.z)
            c = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ c.y ^ k.x, UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ c.w ^ k.y, UInt32(truncatingIfNeeded: p0))
            k &+= SIMD2(0x9E37_79B9, 0xBB67_AE85)
        }
        return c
    }

    /// Eight blocks at once, counters (x + 0...7, y, z, w): the same words as eight calls of `block`, returned
    /// as the blocks' x, y, z and w words. Each word lives in a 64-bit lane, even blocks in one AVX2 register
    /// and odd blocks in another, so a round's 32 × 32 → 64-bit products are plain pmuludq whose high and low
    /// words need no shuffling back into 32-bit lanes: the high half of a lane is ignored (the multiply reads
    /// only the low 32 bits; xor and shift keep the low half exact), and the lanes are packed once, after the
    /// tenth round. The two halves are written out side by side so that four multiplies are in flight per
    /// round. Measured alternatives in this eight-lane build, both slower: SIMD8<UInt64> lanes (the compiler
    /// splits them into 128-bit halves, with spills; KernelsAVX512's `sixteenBlocks` keeps them in 512-bit
    /// registers) and four groups of four (more than AVX2's sixteen vector registers).
    @inlinable @inline(__always)
    public static func eightBlocks(x: UInt32, y: UInt32, z: UInt32, w: UInt32, key: SIMD2<UInt32>)
        -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
        typealias Lanes = SIMD4<UInt64>
        let low = Lanes(repeating: 0xFFFF_FFFF)
        let first = Lanes(repeating: UInt64(x))
        var e0 = first &+ Lanes(0, 2, 4, 6), o0 = first &+ Lanes(1, 3, 5, 7)
        var e1 = Lanes(repeating: UInt64(y)), e2 = Lanes(repeating: UInt64(z)), e3 = Lanes(repeating: UInt64(w))
        var o1 = e1, o2 = e2, o3 = e3
        var k0 = key.x, k1 = key.y
        for _ in 0..<10 {
            let key0 = Lanes(repeating: UInt64(k0)), key1 = Lanes(repeating: UInt64(k1))
            let ep0 = (e0 & low) &* 0xD251_1F53, ep1 = (e2 & low) &* 0xCD9E_8D57
            let op0 = (o0 & low) &* 0xD251_1F53, op1 = (o2 & low) &* 0xCD9E_8D57
            (e0, e1, e2, e3) = ((ep1 &>> 32) ^ e1 ^ key0, ep1, (ep0 &>> 32) ^ e3 ^ key1, ep0)
            (o0, o1, o2, o3) = ((op1 &>> 32) ^ o1 ^ key0, op1, (op0 &>> 32) ^ o3 ^ key1, op0)
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        @inline(__always) func interleave(_ even: Lanes, _ odd: Lanes) -> SIMD8<UInt32> {
            unsafeBitCast((even & low) | (odd &<< 32), to: SIMD8<UInt32>.self)
        }
        return (interleave(e0, o0), interleave(e1, o1), interleave(e2, o2), interleave(e3, o3))
    }

    /// A uniform Float in [0, 1) from the top 24 bits of a word (every value exactly representable).
    @inlinable @inline(__always)
    public static func unitFloat(_ word: UInt32) -> Float { Float(word >> 8) * (1.0 / 16_777_216.0) }
}

