/// Inverted dropout: in training each element is kept with probability 1 - rate and scaled by 1 / (1 - rate);
/// in inference it is the identity. The mask is drawn from the counter-based generator keyed by
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
    /// mask (0 or 1/(1-rate)) for backward. In inference (`context` nil) y = x and the mask is all ones.
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<Float>,
                        samples: Int, perSample: Int, context: Context?) {
        let count = samples * perSample
        guard let context, rate > 0 else {
            if UnsafePointer(y) != x { y.update(from: x, count: count) }
            mask.update(repeating: 1, count: count)
            return
        }
        var stream = context.stream
        stream.site = site
        let scale = 1 / (1 - rate)
        for s in 0..<samples {
            let m = mask + s * perSample
            stream.fillUniform(sample: context.firstSample + s, count: perSample, into: m)
            for e in 0..<perSample { m[e] = m[e] >= rate ? scale : 0 }
        }
        for i in 0..<count { y[i] = x[i] * mask[i] }
    }

    /// dx += dy ⊙ mask
    public func backward(dy: UnsafePointer<Float>, mask: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        for i in 0..<count { dx[i] += dy[i] * mask[i] }
    }
}
