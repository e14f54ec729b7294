import Foundation
import NN

/// Glow's activation normalisation: y = (x + b) ⊙ exp(s) per feature, log|det| = rows per sample · Σ s.
/// b and s are set from the first batch a training run sees (`initialize`), so that y starts with zero mean and
/// unit variance per feature; a flag in the parameters records that, so a resumed run does not do it again.
public final class ActNorm: FlowLayer {
    public let features: Int
    public let bias: ParameterView
    public let logScale: ParameterView
    /// 1 once initialised from data (not trained; saved with the weights).
    public let initialized: ParameterView
    private let output = FloatBuffer(), scales = FloatBuffer()

    public init(_ name: String, features: Int, layout: inout ParameterLayout) {
        self.features = features
        bias = layout.add(name + ".bias", shape: [features])
        logScale = layout.add(name + ".log_scale", shape: [features])
        initialized = layout.add(name + ".initialized", shape: [1], trainable: false)
    }

    public func isInitialized(_ p: ParameterStore) -> Bool { p.value(initialized)[0] == 1 }

    /// b = -mean, s = -log(std + 1e-6) of each feature over the rows of `x` (in Double); with `statistics`, over
    /// the rows of every rank sharing the global batch (sums of values, then of centred squares, reduced).
    public func initialize(from x: UnsafePointer<Float>, rows: Int, _ p: ParameterStore,
                           statistics: (any BatchStatisticsReducer)? = nil) {
        let d = features, b = p.value(bias), s = p.value(logScale)
        let totals = scales.reserve(d + 1)
        func summed(_ values: [Double], count: Double) -> ([Double], Double) {
            guard let statistics else { return (values, count) }
            for j in 0..<d { totals[j] = Float(values[j]) }
            totals[d] = Float(count)
            statistics.sum(totals, count: d + 1)
            return ((0..<d).map { Double(totals[$0]) }, Double(totals[d]))
        }
        var sums = [Double](repeating: 0, count: d)
        for r in 0..<rows { for j in 0..<d { sums[j] += Double(x[r * d + j]) } }
        let (totalSums, count) = summed(sums, count: Double(rows))
        let means = totalSums.map { $0 / max(count, 1) }
        var squares = [Double](repeating: 0, count: d)
        for r in 0..<rows { for j in 0..<d { let e = Double(x[r * d + j]) - means[j]; squares[j] += e * e } }
        let (totalSquares, _) = summed(squares, count: Double(rows))
        for j in 0..<d {
            b[j] = Float(-means[j])
            s[j] = Float(-log((totalSquares[j] / max(count, 1)).squareRoot() + 1e-6))
        }
        p.value(initialized)[0] = 1
    }

    /// exp(±s), once per feature rather than once per element.
    private func scaleFactors(_ p: ParameterStore, sign: Float) -> UnsafeMutablePointer<Float> {
        let s = p.value(logScale), e = scales.reserve(features)
        for j in 0..<features { e[j] = Foundation.exp(sign * s[j]) }
        return e
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, samples: Int,
                        logdet: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        let d = features, b = p.value(bias), s = p.value(logScale), e = scaleFactors(p, sign: 1)
        let out = output.reserve(rows * d)
        for r in 0..<rows {
            for j in 0..<d { out[r * d + j] = (x[r * d + j] + b[j]) * e[j] }
        }
        y.update(from: out, count: rows * d)
        let perSample = Float(rows / samples) * (0..<d).reduce(Float(0)) { $0 + s[$1] }
        for n in 0..<samples { logdet[n] += perSample }
    }

    public func inverse(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore) {
        let d = features, b = p.value(bias), e = scaleFactors(p, sign: -1)
        for r in 0..<rows {
            for j in 0..<d { x[r * d + j] = y[r * d + j] * e[j] - b[j] }
        }
    }

    /// dx = dy ⊙ exp(s);  db += Σ_rows dy ⊙ exp(s);  ds += Σ_rows dy ⊙ y + rows per sample · Σ_n dlogdet_n.
    public func backward(dy: UnsafePointer<Float>, dLogdet: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                         rows: Int, samples: Int, _ p: ParameterStore) {
        let d = features, y = output.pointer, scale = scaleFactors(p, sign: 1)
        let db = p.gradientIfNeeded(bias), ds = p.gradientIfNeeded(logScale)
        let logdetWeight = Float(rows / samples) * (0..<samples).reduce(Float(0)) { $0 + dLogdet[$1] }
        for j in 0..<d {
            let e = scale[j]
            var sumB: Float = 0, sumS: Float = 0
            for r in 0..<rows {
                let g = dy[r * d + j]
                dx[r * d + j] = g * e
                sumB += g * e
                sumS += g * y[r * d + j]
            }
            db?[j] += sumB
            ds?[j] += sumS + logdetWeight
        }
    }
}
