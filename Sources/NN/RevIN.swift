/// Reversible instance normalisation over time for x [batch, time, channels]: per sample and channel,
/// μ = mean over time, σ = √(biased variance + ε); x̃ = (x - μ)/σ, then optionally x̃ · w + b per channel.
/// `denormalize` undoes it on the forecast [batch, horizon, channels]: ((y - b)/w) · σ + μ.
/// Gradients flow through μ and σ (they are functions of the input), as in the references.
public final class RevIN {
    public let channels: Int
    public let epsilon: Float
    public let affineWeight: ParameterView?
    public let affineBias: ParameterView?

    private let mean = FloatBuffer()       // [batch, channels]
    private let std = FloatBuffer()        // [batch, channels]
    private let normalized = FloatBuffer() // (x - μ)/σ before the affine map, [batch, time, channels]
    private let unscaled = FloatBuffer()   // (y - b)/w, [batch, horizon, channels]
    private let gradMean = FloatBuffer()
    private let gradStd = FloatBuffer()
    private var time = 0, horizon = 0, batch = 0

    public init(_ name: String, channels: Int, epsilon: Float = 1e-5, affine: Bool, layout: inout ParameterLayout) {
        self.channels = channels
        self.epsilon = epsilon
        affineWeight = affine ? layout.add(name + ".affine_weight", shape: [channels]) : nil
        affineBias = affine ? layout.add(name + ".affine_bias", shape: [channels]) : nil
    }

    public func initialize(_ p: ParameterStore) {
        if let affineWeight { p.value(affineWeight).update(repeating: 1, count: channels) }
        if let affineBias { p.value(affineBias).update(repeating: 0, count: channels) }
    }

    /// The statistics of the last `normalize`: μ and σ, [batch, channels].
    public var location: UnsafePointer<Float> { UnsafePointer(mean.pointer) }
    public var scale: UnsafePointer<Float> { UnsafePointer(std.pointer) }

    /// `normalize` into `buffer` (grown as needed); returns the normalised values.
    public func normalize(_ x: UnsafePointer<Float>, into buffer: FloatBuffer, batch: Int, time: Int, _ p: ParameterStore) -> UnsafePointer<Float> {
        let y = buffer.reserve(batch * time * channels)
        normalize(x, y, batch: batch, time: time, p)
        return UnsafePointer(y)
    }

    public func normalize(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, time: Int, _ p: ParameterStore) {
        self.batch = batch
        self.time = time
        let c = channels
        let mu = mean.reserve(batch * c), sd = std.reserve(batch * c), xn = normalized.reserve(batch * time * c)
        for b in 0..<batch {
            let xb = x + b * time * c, mb = mu + b * c, sb = sd + b * c
            mb.update(repeating: 0, count: c)
            sb.update(repeating: 0, count: c)
            for t in 0..<time { for ch in 0..<c { mb[ch] += xb[t * c + ch] } }
            for ch in 0..<c { mb[ch] /= Float(time) }
            for t in 0..<time { for ch in 0..<c { let d = xb[t * c + ch] - mb[ch]; sb[ch] += d * d } }
            for ch in 0..<c { sb[ch] = (sb[ch] / Float(time) + epsilon).squareRoot() }
            for t in 0..<time {
                for ch in 0..<c {
                    let i = b * time * c + t * c + ch
                    xn[i] = (x[i] - mb[ch]) / sb[ch]
                }
            }
        }
        let count = batch * time * c
        guard let affineWeight, let affineBias else { y.update(from: xn, count: count); return }
        let w = p.value(affineWeight), bias = p.value(affineBias)
        for i in 0..<count { let ch = i % c; y[i] = xn[i] * w[ch] + bias[ch] }
    }

    public func denormalize(_ y: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, horizon: Int, _ p: ParameterStore) {
        self.horizon = horizon
        let c = channels, count = batch * horizon * c
        let u = unscaled.reserve(count)
        if let affineWeight, let affineBias {
            let w = p.value(affineWeight), bias = p.value(affineBias)
            for i in 0..<count { let ch = i % c; u[i] = (y[i] - bias[ch]) / w[ch] }
        } else {
            u.update(from: y, count: count)
        }
        for b in 0..<batch {
            for t in 0..<horizon {
                for ch in 0..<c {
                    let i = b * horizon * c + t * c + ch
                    out[i] = u[i] * std.pointer[b * c + ch] + mean.pointer[b * c + ch]
                }
            }
        }
    }

    /// Backward of `denormalize`: dy += ∂/∂y, affine gradients accumulate, and the gradients with respect
    /// to μ and σ are kept for `normalizeBackward`.
    public func denormalizeBackward(dOut: UnsafePointer<Float>, dy: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        let c = channels
        let dmu = gradMean.reserve(batch * c), dsd = gradStd.reserve(batch * c)
        dmu.update(repeating: 0, count: batch * c)
        dsd.update(repeating: 0, count: batch * c)
        let w: UnsafeMutablePointer<Float>? = affineWeight.map { p.value($0) }
        let dw = affineWeight.flatMap { p.gradientIfNeeded($0) }
        let db = affineBias.flatMap { p.gradientIfNeeded($0) }
        for b in 0..<batch {
            for t in 0..<horizon {
                for ch in 0..<c {
                    let i = b * horizon * c + t * c + ch, s = b * c + ch
                    dmu[s] += dOut[i]                          // out = u σ + μ
                    dsd[s] += dOut[i] * unscaled.pointer[i]
                    let du = dOut[i] * std.pointer[s]
                    if let w {                                 // u = (y - b) / w
                        dy[i] += du / w[ch]
                        db?[ch] -= du / w[ch]
                        dw?[ch] -= du * unscaled.pointer[i] / w[ch]
                    } else {
                        dy[i] += du
                    }
                }
            }
        }
    }

    /// Backward of `denormalize` into `buffer` (zeroed first); returns the gradient with respect to its input.
    public func denormalizeBackward(dOut: UnsafePointer<Float>, into buffer: FloatBuffer, _ p: ParameterStore) -> UnsafePointer<Float> {
        let count = batch * horizon * channels
        let d = buffer.reserve(count)
        d.update(repeating: 0, count: count)
        denormalizeBackward(dOut: dOut, dy: d, p)
        return UnsafePointer(d)
    }

    /// Backward of `normalize`: dx += ∂/∂x, including the paths through μ and σ (and those kept by
    /// `denormalizeBackward` when the forecast was denormalised).
    public func normalizeBackward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, includeDenormalize: Bool,
                                  scratch: FloatBuffer, _ p: ParameterStore) {
        let c = channels, count = batch * time * c
        let dxn = scratch.reserve(count)
        let xn = normalized.pointer
        if let affineWeight, let affineBias {
            let w = p.value(affineWeight)
            let dw = p.gradientIfNeeded(affineWeight)
            let db = p.gradientIfNeeded(affineBias)
            for i in 0..<count {
                let ch = i % c
                dxn[i] = dy[i] * w[ch]
                dw?[ch] += dy[i] * xn[i]
                db?[ch] += dy[i]
            }
        } else {
            dxn.update(from: dy, count: count)
        }
        guard let dx else { return }  // the affine map's gradients only
        let n = Float(time)
        for b in 0..<batch {
            for ch in 0..<c {
                let s = b * c + ch
                var sumD: Float = 0, sumDX: Float = 0
                for t in 0..<time { let i = b * time * c + t * c + ch; sumD += dxn[i]; sumDX += dxn[i] * xn[i] }
                let inv = 1 / std.pointer[s]
                // x̂ = (x - μ)/σ:  dx = (dx̂ - mean dx̂ - x̂ mean(dx̂ x̂)) / σ
                // plus the external paths: ∂μ/∂x_t = 1/T, ∂σ/∂x_t = (x_t - μ)/(T σ) = x̂_t / T.
                let extraMean = includeDenormalize ? gradMean.pointer[s] / n : 0
                let extraStd = includeDenormalize ? gradStd.pointer[s] / n : 0
                for t in 0..<time {
                    let i = b * time * c + t * c + ch
                    dx[i] += inv * (dxn[i] - sumD / n - xn[i] * sumDX / n) + extraMean + extraStd * xn[i]
                }
            }
        }
    }
}
