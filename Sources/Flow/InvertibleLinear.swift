import Foundation
import NN

/// Glow's invertible 1×1 convolution: every row (a pixel's channels) times one learned d × d matrix,
/// y = x Wᵀ, log|det| = rows per sample · log|det W|. d is the colour channel count (1 to 4), so determinant
/// and inverse are computed directly, in double, by Gaussian elimination with partial pivoting.
public final class InvertibleLinear: FlowLayer {
    public let features: Int
    public let weight: ParameterView

    public init(_ name: String, features: Int, layout: inout ParameterLayout) {
        self.features = features
        weight = layout.add(name + ".weight", shape: [features, features])
    }

    /// A random rotation (Gram-Schmidt on a Gaussian matrix from the seed): determinant ±1, so log|det| starts at 0.
    public func initialize(_ p: ParameterStore, seed: UInt64) {
        let d = features
        let uniforms = FloatBuffer(capacity: 2 * d * d)
        RandomStream(seed: seed, site: UInt32(truncatingIfNeeded: weight.offset)).fillUniform(sample: 0, count: 2 * d * d, into: uniforms.pointer)
        var rows = (0..<d).map { i in (0..<d).map { j -> Double in
            let u1 = max(Double(uniforms.pointer[2 * (i * d + j)]), 1e-7), u2 = Double(uniforms.pointer[2 * (i * d + j) + 1])
            return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
        } }
        for i in 0..<d {
            for k in 0..<i {
                let dot = zip(rows[i], rows[k]).reduce(0) { $0 + $1.0 * $1.1 }
                rows[i] = zip(rows[i], rows[k]).map { $0 - dot * $1 }
            }
            let norm = rows[i].reduce(0) { $0 + $1 * $1 }.squareRoot()
            rows[i] = rows[i].map { $0 / norm }
        }
        let w = p.value(weight)
        for i in 0..<d { for j in 0..<d { w[i * d + j] = Float(rows[i][j]) } }
    }

    /// W in double, its log|det| and its inverse.
    private func decompose(_ p: ParameterStore) -> (logAbsDet: Double, inverse: [Double]) {
        let d = features, w = p.value(weight)
        var a = (0..<(d * d)).map { Double(w[$0]) }, inverse = (0..<(d * d)).map { $0 / d == $0 % d ? 1.0 : 0 }
        var logAbsDet = 0.0
        for k in 0..<d {
            let pivot = (k..<d).max { abs(a[$0 * d + k]) < abs(a[$1 * d + k]) }!
            if pivot != k {
                for j in 0..<d { a.swapAt(k * d + j, pivot * d + j); inverse.swapAt(k * d + j, pivot * d + j) }
            }
            let diagonal = a[k * d + k]
            logAbsDet += log(abs(diagonal))
            for j in 0..<d { a[k * d + j] /= diagonal; inverse[k * d + j] /= diagonal }
            for i in 0..<d where i != k {
                let f = a[i * d + k]
                for j in 0..<d { a[i * d + j] -= f * a[k * d + j]; inverse[i * d + j] -= f * inverse[k * d + j] }
            }
        }
        return (logAbsDet, inverse)
    }

    private let input = FloatBuffer(), rowScratch = FloatBuffer()

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, samples: Int,
                        logdet: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        let d = features, w = p.value(weight)
        let saved = input.reserve(rows * d)
        saved.update(from: x, count: rows * d)
        for r in 0..<rows {
            for i in 0..<d {
                var sum: Float = 0
                for j in 0..<d { sum += w[i * d + j] * saved[r * d + j] }
                y[r * d + i] = sum
            }
        }
        let perSample = Float(Double(rows / samples) * decompose(p).logAbsDet)
        for n in 0..<samples { logdet[n] += perSample }
    }

    public func inverse(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore) {
        let d = features, inverse = decompose(p).inverse
        var row = [Double](repeating: 0, count: d)
        for r in 0..<rows {
            for i in 0..<d { row[i] = (0..<d).reduce(0) { $0 + inverse[i * d + $1] * Double(y[r * d + $1]) } }
            for i in 0..<d { x[r * d + i] = Float(row[i]) }
        }
    }

    /// dx = dy W;  dW += dyᵀ x + (rows per sample · Σ_n dlogdet_n) W⁻ᵀ  (∂ log|det W| / ∂W = W⁻ᵀ).
    /// dW first: dx may be dy itself, and each row of dx goes through a row of scratch before it is written.
    public func backward(dy: UnsafePointer<Float>, dLogdet: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                         rows: Int, samples: Int, _ p: ParameterStore) {
        let d = features, w = p.value(weight), x = input.pointer
        if let dw = p.gradientIfNeeded(weight) {
            let logdetWeight = Double(rows / samples) * (0..<samples).reduce(0.0) { $0 + Double(dLogdet[$1]) }
            let inverse = decompose(p).inverse
            for i in 0..<d {
                for j in 0..<d {
                    var sum: Float = 0
                    for r in 0..<rows { sum += dy[r * d + i] * x[r * d + j] }
                    dw[i * d + j] += sum + Float(logdetWeight * inverse[j * d + i])
                }
            }
        }
        let row = rowScratch.reserve(d)
        for r in 0..<rows {
            for j in 0..<d {
                var sum: Float = 0
                for i in 0..<d { sum += dy[r * d + i] * w[i * d + j] }
                row[j] = sum
            }
            (dx + r * d).update(from: row, count: d)
        }
    }
}
