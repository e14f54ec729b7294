/// Mean losses over all elements, and their gradients with respect to the prediction.
public enum Loss: String, Codable, Sendable {
    case mse, mae

    /// The mean of (y - t)² or |y - t| over `count` elements, accumulated in Double (`weightedSum` unweighted).
    public func value(prediction y: UnsafePointer<Float>, target t: UnsafePointer<Float>, count: Int) -> Double {
        weightedSum(prediction: y, target: t, weights: nil, samples: 1, perSample: count, channels: 1, scale: 0, gradient: nil) / Double(count)
    }

    /// dy = ∂loss/∂y · scale: 2 (y - t)/n for MSE, sign(y - t)/n for MAE (0 where y = t, as torch).
    public func gradient(prediction y: UnsafePointer<Float>, target t: UnsafePointer<Float>,
                         into dy: UnsafeMutablePointer<Float>, count: Int, scale: Float = 1) {
        _ = weightedSum(prediction: y, target: t, weights: nil, samples: 1, perSample: count, channels: 1,
                        scale: scale / Float(count), gradient: dy)
    }
}

extension Loss {
    /// The training loss Σ ℓ(e) over a batch, with e = (y - t)·s and s the weight of the sample's channel (the
    /// inverse train std of its dataset and channel, so that a channel in large units does not drown the others;
    /// nil weights mean s = 1): ℓ(e) = e² for MSE, |e| for MAE. Writes ∂(scale·Σ ℓ)/∂y = scale·ℓ'(e)·s into
    /// `gradient` when given, and returns Σ ℓ in Double.
    ///
    /// y, t and gradient are [samples, perSample] with the channel as the fastest index (perSample is a multiple
    /// of `channels`); weights are [samples, channels].
    public func weightedSum(prediction y: UnsafePointer<Float>, target t: UnsafePointer<Float>, weights: UnsafePointer<Float>?,
                            samples: Int, perSample: Int, channels: Int, scale: Float,
                            gradient: UnsafeMutablePointer<Float>?) -> Double {
        var sum = 0.0
        for b in 0..<samples {
            let row = weights.map { $0 + b * channels }
            for j in 0..<perSample {
                let i = b * perSample + j
                let s: Float = row?[j % channels] ?? 1
                let e = (y[i] - t[i]) * s
                switch self {
                case .mse:
                    sum += Double(e) * Double(e)
                    gradient?[i] = 2 * scale * e * s
                case .mae:
                    sum += Double(abs(e))
                    gradient?[i] = e > 0 ? scale * s : (e < 0 ? -scale * s : 0)
                }
            }
        }
        return sum
    }
}
