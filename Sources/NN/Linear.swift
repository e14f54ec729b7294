import BLAS

/// A fully connected layer with PyTorch's layout: weight [out, in], y = x Wᵀ + b.
public struct Linear: Sendable {
    public let inFeatures: Int
    public let outFeatures: Int
    public let weight: ParameterView
    public let bias: ParameterView?

    public init(_ name: String, in inFeatures: Int, out outFeatures: Int, bias: Bool = true, layout: inout ParameterLayout) {
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        weight = layout.add(name + ".weight", shape: [outFeatures, inFeatures])
        self.bias = bias ? layout.add(name + ".bias", shape: [outFeatures]) : nil
    }

    /// y[rows, out] = x[rows, in] · Wᵀ + b
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore) {
        if let bias {
            let b = p.value(bias)
            for r in 0..<rows { (y + r * outFeatures).update(from: b, count: outFeatures) }
        }
        sgemm(.none, .transposed, m: rows, n: outFeatures, k: inFeatures,
              a: x, lda: inFeatures, b: p.value(weight), ldb: inFeatures,
              beta: bias == nil ? 0 : 1, c: y, ldc: outFeatures)
    }

    /// dx += dy · W;  dW += dyᵀ · x;  db += Σ_rows dy.  `dx` nil skips the input gradient.
    public func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                         rows: Int, _ p: ParameterStore) {
        if let dx {
            sgemm(.none, .none, m: rows, n: inFeatures, k: outFeatures,
                  a: dy, lda: outFeatures, b: p.value(weight), ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
        }
        if let dW = p.gradientIfNeeded(weight) {
            sgemm(.transposed, .none, m: outFeatures, n: inFeatures, k: rows,
                  a: dy, lda: outFeatures, b: x, ldb: inFeatures, beta: 1, c: dW, ldc: inFeatures)
        }
        if let bias, let db = p.gradientIfNeeded(bias) {
            for r in 0..<rows {
                let row = dy + r * outFeatures
                for o in 0..<outFeatures { db[o] += row[o] }
            }
        }
    }
}
