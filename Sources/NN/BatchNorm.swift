/// Batch normalisation with Keras semantics (BatchNormalization(axis=-1) on a [batch, features] tensor):
/// training normalises with the batch mean and the biased batch variance, gradients flowing through both,
/// and moves the running statistics as moving = moving · momentum + batch · (1 - momentum) (Keras' convention);
/// inference, or a frozen layer (Keras trainable = False) at any time, uses the moving statistics.
/// With a `BatchStatisticsReducer` the batch is the global one spread over ranks (synchronised BatchNorm): the
/// per-feature sums are added over the ranks, so every rank normalises, moves its statistics and back-propagates
/// exactly as one process holding the whole batch would.
public struct BatchNorm: Sendable {
    public let features: Int
    public let epsilon: Float
    public let momentum: Float
    public let gamma: ParameterView
    public let beta: ParameterView
    public let movingMean: ParameterView
    public let movingVariance: ParameterView
    /// Like Keras' trainable = False: always the moving statistics, which stay as they are.
    public var frozen = false

    public init(_ name: String, features: Int, epsilon: Float = 1e-3, momentum: Float = 0.01, layout: inout ParameterLayout) {
        self.features = features
        self.epsilon = epsilon
        self.momentum = momentum
        gamma = layout.add(name + ".gamma", shape: [features])
        beta = layout.add(name + ".beta", shape: [features])
        movingMean = layout.add(name + ".moving_mean", shape: [features], trainable: false)
        movingVariance = layout.add(name + ".moving_variance", shape: [features], trainable: false)
    }

    /// Keras' initial values: gamma 1, beta 0, moving mean 0, moving variance 1.
    public func initialize(_ p: ParameterStore) {
        p.value(gamma).update(repeating: 1, count: features)
        p.value(beta).update(repeating: 0, count: features)
        p.value(movingMean).update(repeating: 0, count: features)
        p.value(movingVariance).update(repeating: 1, count: features)
    }

    /// What forward keeps for backward: x̂ [rows, features], 1/√(σ² + ε) and μ [features].
    public final class Saved {
        let normalized = FloatBuffer()
        let inverseStd = FloatBuffer()
        let mean = FloatBuffer()
        var usedBatchStatistics = false
        /// Rows of the whole (global) batch, and the reducer that joined the ranks' sums, in the last forward.
        var totalRows: Float = 0
        var reducer: (any BatchStatisticsReducer)?
        public init() {}
        func reserve(rows: Int, features: Int) {
            normalized.reserve(rows * features)
            inverseStd.reserve(features)
            mean.reserve(features + 1)  // + the row count, reduced with the sums
        }
    }

    /// y = γ x̂ + β with x̂ = (x - μ) / √(σ² + ε), per feature over the `rows` of the batch (training) or with
    /// the moving statistics (inference, frozen).
    /// `mode` decides batch or moving statistics; its reducer, when present, makes the batch the global one.
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, mode: ForwardMode,
                        saved: Saved, _ p: ParameterStore) {
        saved.reserve(rows: rows, features: features)
        let g = p.value(gamma), b = p.value(beta)
        let mu = saved.mean.pointer, inv = saved.inverseStd.pointer, xhat = saved.normalized.pointer
        saved.usedBatchStatistics = mode.isTraining && !frozen
        saved.reducer = saved.usedBatchStatistics ? mode.statisticsReducer : nil
        if saved.usedBatchStatistics {
            // μ = mean over rows; σ² = mean (x - μ)² (biased, as Keras' moments), two passes; with a reducer
            // each pass's sums (and the row count) are added over the ranks before dividing.
            mu.update(repeating: 0, count: features)
            inv.update(repeating: 0, count: features)
            for r in 0..<rows { let row = x + r * features; for f in 0..<features { mu[f] += row[f] } }
            var total = Float(rows)
            if let reducer = saved.reducer {
                mu[features] = total
                reducer.sum(mu, count: features + 1)
                total = mu[features]
            }
            saved.totalRows = total
            for f in 0..<features { mu[f] /= total }
            for r in 0..<rows {
                let row = x + r * features
                for f in 0..<features { let d = row[f] - mu[f]; inv[f] += d * d }
            }
            saved.reducer?.sum(inv, count: features)
            let mm = p.value(movingMean), mv = p.value(movingVariance)
            for f in 0..<features {
                let variance = inv[f] / total
                mm[f] = mm[f] * momentum + mu[f] * (1 - momentum)
                mv[f] = mv[f] * momentum + variance * (1 - momentum)
                inv[f] = 1 / (variance + epsilon).squareRoot()
            }
        } else {
            let mm = p.value(movingMean), mv = p.value(movingVariance)
            for f in 0..<features {
                mu[f] = mm[f]
                inv[f] = 1 / (mv[f] + epsilon).squareRoot()
            }
        }
        for r in 0..<rows {
            let xr = x + r * features, yr = y + r * features, nr = xhat + r * features
            for f in 0..<features {
                let n = (xr[f] - mu[f]) * inv[f]
                nr[f] = n
                yr[f] = g[f] * n + b[f]
            }
        }
    }

    /// dγ += Σ dy x̂;  dβ += Σ dy;  with batch statistics
    /// dx += (1/σ)/R · (R dx̂ - Σ dx̂ - x̂ Σ dx̂ x̂), dx̂ = γ dy; with moving statistics dx += γ dy / σ.
    /// With a reducer, R and the two sums in dx are the global batch's; dγ and dβ keep this rank's share (the
    /// gradient all-reduce adds the shares).
    public func backward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int, saved: Saved,
                         scratch: FloatBuffer, _ p: ParameterStore) {
        let g = p.value(gamma), inv = saved.inverseStd.pointer, xhat = saved.normalized.pointer
        let sums = scratch.reserve(2 * features)  // Σ dx̂ and Σ dx̂ x̂
        let sumD = sums, sumDX = sums + features
        sumD.update(repeating: 0, count: 2 * features)
        let dg = p.gradientIfNeeded(gamma)
        let db = p.gradientIfNeeded(beta)
        for r in 0..<rows {
            let dyr = dy + r * features, nr = xhat + r * features
            for f in 0..<features {
                sumD[f] += dyr[f]
                sumDX[f] += dyr[f] * nr[f]
            }
        }
        if let dg { for f in 0..<features { dg[f] += sumDX[f] } }
        if let db { for f in 0..<features { db[f] += sumD[f] } }
        guard let dx else { return }
        if saved.usedBatchStatistics {
            saved.reducer?.sum(sums, count: 2 * features)
            let n = saved.totalRows
            for r in 0..<rows {
                let dyr = dy + r * features, nr = xhat + r * features, dxr = dx + r * features
                for f in 0..<features {
                    // Σ dx̂ = γ Σ dy and Σ dx̂ x̂ = γ Σ dy x̂, so γ factors out.
                    dxr[f] += g[f] * inv[f] / n * (n * dyr[f] - sumD[f] - nr[f] * sumDX[f])
                }
            }
        } else {
            for r in 0..<rows {
                let dyr = dy + r * features, dxr = dx + r * features
                for f in 0..<features { dxr[f] += g[f] * inv[f] * dyr[f] }
            }
        }
    }
}
