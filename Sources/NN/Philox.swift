/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a counter-based
/// generator, so a random number is a pure function of (key, counter) with no state to carry between calls.
/// That is what makes a dropout mask depend only on (seed, step, sample, site), never on how a batch is
/// split across ranks or threads.
public enum Philox {
    /// Ten rounds of the Philox4x32 bijection of `counter` under `key`.
    @inline(__always)
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

    /// Eight blocks at once, counters (x + 0...7, y, z, w), one block per SIMD lane: the same words as eight
    /// calls of `block`, returned as the blocks' x, y, z and w words. The 32×32→64-bit products of a lane
    /// compile to vector multiplies (pmuludq), which is what makes dropout masks cheap.
    @inline(__always)
    public static func eightBlocks(x: UInt32, y: UInt32, z: UInt32, w: UInt32, key: SIMD2<UInt32>)
        -> (SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>, SIMD8<UInt32>) {
        var c0 = SIMD8<UInt32>(repeating: x) &+ SIMD8(0, 1, 2, 3, 4, 5, 6, 7)
        var c1 = SIMD8<UInt32>(repeating: y), c2 = SIMD8<UInt32>(repeating: z), c3 = SIMD8<UInt32>(repeating: w)
        var k0 = key.x, k1 = key.y
        for _ in 0..<10 {
            let (hi0, lo0) = multiplyFullWidth(c0, by: 0xD251_1F53)
            let (hi1, lo1) = multiplyFullWidth(c2, by: 0xCD9E_8D57)
            (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        return (c0, c1, c2, c3)
    }

    /// The high and low words of each lane times `m`, computed on the eight lanes seen as four 64-bit lanes:
    /// even lanes (the low halves) and odd lanes (shifted down) each multiply as 32 × 32 → 64 bits (one
    /// pmuludq), and the halves are put back in place with masks and shifts. Widening eight lanes to UInt64
    /// and narrowing them back cost more shuffles than the multiplications themselves.
    @inline(__always)
    static func multiplyFullWidth(_ a: SIMD8<UInt32>, by m: UInt64) -> (high: SIMD8<UInt32>, low: SIMD8<UInt32>) {
        let wide = unsafeBitCast(a, to: SIMD4<UInt64>.self)
        let lowHalf = SIMD4<UInt64>(repeating: 0xFFFF_FFFF)
        let even = (wide & lowHalf) &* m
        let odd = (wide &>> 32) &* m
        let low = (even & lowHalf) | (odd &<< 32)
        let high = (even &>> 32) | (odd & ~lowHalf)
        return (unsafeBitCast(high, to: SIMD8<UInt32>.self), unsafeBitCast(low, to: SIMD8<UInt32>.self))
    }

    /// A uniform Float in [0, 1) from the top 24 bits of a word (every value exactly representable).
    @inline(__always)
    public static func unitFloat(_ word: UInt32) -> Float { Float(word >> 8) * (1.0 / 16_777_216.0) }
}

/// The coordinates that name one stream of random numbers.
public struct RandomStream: Sendable, Hashable {
    public var seed: UInt64
    public var step: UInt32
    /// Which use inside the model (each dropout layer has its own site).
    public var site: UInt32

    public init(seed: UInt64, step: UInt32 = 0, site: UInt32 = 0) {
        self.seed = seed
        self.step = step
        self.site = site
    }

    var key: SIMD2<UInt32> { SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)) }

    /// The uniform number for element `element` of global sample `sample`.
    @inline(__always)
    public func uniform(sample: Int, element: Int) -> Float {
        let block = Philox.block(
            counter: SIMD4(UInt32(truncatingIfNeeded: element >> 2), UInt32(truncatingIfNeeded: sample), step, site),
            key: key)
        return Philox.unitFloat(block[element & 3])
    }

    /// Fills `out[0..<count]` with `scale` where the element's 24-bit uniform integer (word >> 8, the numerator
    /// of `uniform`) is at least `threshold`, else 0: a dropout mask, eight Philox blocks per SIMD step and the
    /// keep/drop choice in integer lanes (sign of the difference), so nothing is converted to Float per element.
    public func fillMask(sample: Int, count: Int, threshold: UInt32, scale: Float, into out: UnsafeMutablePointer<Float>) {
        var element = 0
        let limit = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: threshold))
        let scaleBits = SIMD8<Int32>(repeating: Int32(bitPattern: scale.bitPattern))
        @inline(__always) func masked(_ words: SIMD8<UInt32>) -> SIMD8<Int32> {
            let dropped = (SIMD8<Int32>(truncatingIfNeeded: words &>> 8) &- limit) &>> 31   // all ones where below
            return scaleBits & ~dropped
        }
        while element + 32 <= count {
            let (a, b, c, d) = Philox.eightBlocks(x: UInt32(truncatingIfNeeded: element >> 2), y: UInt32(truncatingIfNeeded: sample),
                                                  z: step, w: site, key: key)
            let ma = masked(a), mb = masked(b), mc = masked(c), md = masked(d)
            let o = out + element
            for block in 0..<8 {  // block j holds elements 4j ... 4j+3
                o[4 * block] = Float(bitPattern: UInt32(bitPattern: ma[block])); o[4 * block + 1] = Float(bitPattern: UInt32(bitPattern: mb[block]))
                o[4 * block + 2] = Float(bitPattern: UInt32(bitPattern: mc[block])); o[4 * block + 3] = Float(bitPattern: UInt32(bitPattern: md[block]))
            }
            element += 32
        }
        while element < count {
            let block = Philox.block(
                counter: SIMD4(UInt32(truncatingIfNeeded: element >> 2), UInt32(truncatingIfNeeded: sample), step, site),
                key: key)
            for lane in 0..<min(4, count - element) { out[element + lane] = block[lane] >> 8 >= threshold ? scale : 0 }
            element += 4
        }
    }

    /// Fills `out[0..<count]` with uniforms in [0, 1) for elements 0..<count of global sample `sample`,
    /// four per Philox block.
    public func fillUniform(sample: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        var element = 0
        while element < count {
            let block = Philox.block(
                counter: SIMD4(UInt32(truncatingIfNeeded: element >> 2), UInt32(truncatingIfNeeded: sample), step, site),
                key: key)
            for lane in 0..<min(4, count - element) { out[element + lane] = Philox.unitFloat(block[lane]) }
            element += 4
        }
    }
}
