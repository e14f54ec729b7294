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

    /// Eight blocks at once, counters (x + 0...7, y, z, w): the same words as eight calls of `block`, returned
    /// as the blocks' x, y, z and w words. Each word lives in a 64-bit lane, even blocks in one AVX2 register
    /// and odd blocks in another, so a round's 32 × 32 → 64-bit products are plain pmuludq whose high and low
    /// words need no shuffling back into 32-bit lanes: the high half of a lane is ignored (the multiply reads
    /// only the low 32 bits; xor and shift keep the low half exact), and the lanes are packed once, after the
    /// tenth round. The two halves are written out side by side so that four multiplies are in flight per
    /// round. Measured alternatives, both slower: SIMD8<UInt64> lanes (the compiler splits them into 128-bit
    /// halves, with spills) and four groups of four (more than AVX2's sixteen vector registers).
    @inline(__always)
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

    /// The drop threshold of a dropout rate for `maskDraw`: a draw below it drops the element, so the drop
    /// probability is ⌈rate · 2¹⁶⌉ / 2¹⁶ (0.2 becomes 0.2000122).
    public static func maskThreshold(rate: Float) -> UInt32 { UInt32((Double(rate) * 65_536).rounded(.up)) }

    /// The 16-bit draw that keeps or drops element `element` of sample `sample` in a dropout mask. A Philox
    /// block gives eight of them (two per word), which halves the generator's cost against one per word.
    /// Elements come in groups of 64 per eight consecutive blocks: element 64g + 16w + 8h + j is half h (0 the
    /// low, 1 the high 16 bits) of word w of block 8g + j, so that `fillMask` stores eight contiguous elements
    /// per word half and never scatters.
    public func maskDraw(sample: Int, element: Int) -> UInt32 {
        let group = element >> 6, within = element & 63
        let word = within >> 4, high = (within >> 3) & 1 == 1, lane = within & 7
        let block = Philox.block(counter: SIMD4(UInt32(truncatingIfNeeded: group * 8 + lane), UInt32(truncatingIfNeeded: sample), step, site),
                                 key: key)
        return high ? block[word] >> 16 : block[word] & 0xFFFF
    }

    /// The dropout mask of elements 0..<count of sample `sample`: dropped where `maskDraw` is below `threshold`,
    /// else kept and scaled by `scale`. `keep` receives 1 for a kept element and 0 for a dropped one, a byte
    /// each (the mask's values are just 0 or `scale`: as floats it was four times the memory traffic, written
    /// by every training forward and read by its backward); element e goes to keep[(e / rowLength)·rowStride +
    /// e % rowLength], so a sample stored as rows of a wider matrix (the column layout) is filled in one pass,
    /// each Philox group drawn once. The keep/drop choice is made in integer lanes (sign of the difference).
    /// With `applyingTo`, the same pass also writes data.y = data.x ⊙ mask (indexed like keep; x may be y):
    /// dropout in one pass. `keep` nil keeps no mask (a pass with no backward).
    public func fillMask(sample: Int, count: Int, rowLength: Int? = nil, rowStride: Int = 0, threshold: UInt32, scale: Float,
                         into keep: UnsafeMutablePointer<UInt8>?,
                         applyingTo data: (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)? = nil) {
        let limit = SIMD8<Int32>(repeating: Int32(truncatingIfNeeded: threshold))
        let scaleBits = SIMD8<Int32>(repeating: Int32(bitPattern: scale.bitPattern))
        let length = Swift.max(rowLength ?? count, 1)
        var base = 0, row = 0, column = 0   // (row, column) of element `base + offset` as emits advance
        while base < count {
            let (w0, w1, w2, w3) = Philox.eightBlocks(x: UInt32(truncatingIfNeeded: base >> 3), y: UInt32(truncatingIfNeeded: sample),
                                                      z: step, w: site, key: key)
            @inline(__always) func emit(_ draws: SIMD8<UInt32>) {
                let dropped = (SIMD8<Int32>(truncatingIfNeeded: draws) &- limit) &>> 31   // all ones where below
                let mask = unsafeBitCast(scaleBits & ~dropped, to: SIMD8<Float>.self)
                let kept = SIMD8<UInt8>(truncatingIfNeeded: ~dropped & 1)
                let available = Swift.min(8, count - (row * length + column))
                if available == 8 && column + 8 <= length {
                    let at = row * rowStride + column
                    if let keep { UnsafeMutableRawPointer(keep + at).storeBytes(of: kept, as: SIMD8<UInt8>.self) }
                    if let data { storeLanes(loadLanes(data.x + at) * mask, data.y + at) }
                    column += 8
                } else {
                    for j in 0..<Swift.max(available, 0) {
                        let at = row * rowStride + column
                        if let keep { keep[at] = kept[j] }
                        if let data { data.y[at] = data.x[at] * mask[j] }
                        column += 1
                        if column == length { column = 0; row += 1 }
                    }
                    return
                }
                if column == length { column = 0; row += 1 }
            }
            emit(w0 & 0xFFFF); emit(w0 &>> 16)
            emit(w1 & 0xFFFF); emit(w1 &>> 16)
            emit(w2 & 0xFFFF); emit(w2 &>> 16)
            emit(w3 & 0xFFFF); emit(w3 &>> 16)
            base += 64
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
