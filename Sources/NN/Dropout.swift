/// Inverted dropout: in training each element is kept with probability 1 - rate (rate rounded up to a multiple
/// of 2⁻¹⁶, the resolution of the draws) and scaled by 1 / (1 - rate); in inference it is the identity. The mask is drawn from the counter-based generator keyed by
/// (seed, step, global sample index, site), so it is the same however a batch is split across ranks.
public struct Dropout: Sendable {
    public let rate: Float
    /// Distinguishes this layer's masks from every other dropout layer's.
    public let site: UInt32

    public init(rate: Float, site: UInt32) {
        precondition(rate >= 0 && rate < 1, "dropout rate \(rate) is not in [0, 1)")
        self.rate = rate
        self.site = site
    }

    public var isIdentity: Bool { rate == 0 }

    /// The randomness of one forward call; nil means inference.
    public struct Context: Sendable {
        public var stream: RandomStream
        /// Global index of the first sample of this (local) batch within the global batch.
        public var firstSample: Int
        public init(seed: UInt64, step: Int, firstSample: Int) {
            stream = RandomStream(seed: seed, step: UInt32(truncatingIfNeeded: step))
            self.firstSample = firstSample
        }
    }

    /// y = x ⊙ mask / (1 - rate) for `samples` samples of `perSample` elements; `mask` receives the scaled
    /// mask (0 or 1/(1-rate)) for backward. In inference (`context` nil) or at rate 0, y = x and the mask only
    /// records that nothing was dropped (no ones are written: backward then passes dy through).
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, mask maskBuffer: DropoutMask,
                        samples: Int, perSample: Int, context: Context?) {
        let count = samples * perSample
        guard let context, rate > 0 else {
            maskBuffer.applied = false
            if UnsafePointer(y) != x { y.update(from: x, count: count) }
            return
        }
        maskBuffer.applied = true
        let mask = maskBuffer.values.reserve(count)
        var stream = context.stream
        stream.site = site
        let scale = 1 / (1 - rate)
        let threshold = RandomStream.maskThreshold(rate: rate)
        for s in 0..<samples {
            stream.fillMask(sample: context.firstSample + s, count: perSample, threshold: threshold, scale: scale, into: mask + s * perSample)
        }
        for i in 0..<count { y[i] = x[i] * mask[i] }
    }
}

/// The mask of a dropout layer's last forward, kept for its backward: the scaled mask when one was drawn, or
/// only the fact that nothing was dropped (inference, rate 0), which costs no pass over the activations.
public final class DropoutMask {
    public let values = FloatBuffer()
    public internal(set) var applied = false
    public init() {}

    /// dy ⊙ mask written into `buffer`, or dy itself when nothing was dropped (no pass at all): the backward
    /// of the dropout, which callers need not zero a gradient buffer for.
    public func applied(to dy: UnsafePointer<Float>, using buffer: FloatBuffer, count: Int) -> UnsafePointer<Float> {
        guard applied else { return dy }
        let out = buffer.reserve(count), m = values.pointer
        for i in 0..<count { out[i] = dy[i] * m[i] }
        return UnsafePointer(out)
    }

    /// dy ⊙ mask in place (nothing when no mask was applied).
    public func apply(to dy: UnsafeMutablePointer<Float>, count: Int) {
        guard applied else { return }
        let m = values.pointer
        for i in 0..<count { dy[i] *= m[i] }
    }
}
