import Kernels

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
    /// each Philox group drawn once (Kernels' `MaskFill`, in the build `ElementwiseLoops` chose).
    /// With `applyingTo`, the same pass also writes data.y = data.x ⊙ mask (indexed like keep; x may be y):
    /// dropout in one pass. `keep` nil keeps no mask (a pass with no backward). With `first` (a multiple of 64),
    /// elements first ..< first + count, written from keep[0] on.
    public func fillMask(sample: Int, first: Int = 0, count: Int, rowLength: Int? = nil, rowStride: Int = 0, threshold: UInt32, scale: Float,
                         into keep: UnsafeMutablePointer<UInt8>?,
                         applyingTo data: (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)? = nil) {
        let fill = MaskFill(key: key, sample: UInt32(truncatingIfNeeded: sample), step: step, site: site, first: first, count: count,
                            rowLength: rowLength ?? count, rowStride: rowStride, threshold: threshold, scale: scale, keep: keep,
                            data: data)
        ElementwiseLoops.kernels.fillMask(fill)
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
