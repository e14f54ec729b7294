import Kernels

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

    /// How fresh weights are drawn; both from the counter-based generator keyed by the seed and the tensor's offset.
    public enum Initialization: Sendable {
        /// Keras' Dense default: Glorot-uniform weights, U(±√(6/(in+out))), zero bias.
        case glorotUniform
        /// PyTorch's nn.Linear default (granite's init_linear "pytorch"): weight and bias U(±1/√in).
        case pytorchDefault
    }

    public func initialize(_ p: ParameterStore, seed: UInt64, _ scheme: Initialization) {
        switch scheme {
        case .glorotUniform:
            fillUniform(weight, bound: (6 / Float(inFeatures + outFeatures)).squareRoot(), p, seed: seed)
            if let bias { p.value(bias).update(repeating: 0, count: outFeatures) }
        case .pytorchDefault:
            let bound = 1 / Float(inFeatures).squareRoot()
            fillUniform(weight, bound: bound, p, seed: seed)
            if let bias { fillUniform(bias, bound: bound, p, seed: seed) }
        }
    }

    private func fillUniform(_ view: ParameterView, bound: Float, _ p: ParameterStore, seed: UInt64) {
        let values = p.value(view)
        RandomStream(seed: seed, site: UInt32(truncatingIfNeeded: view.offset)).fillUniform(sample: 0, count: view.count, into: values)
        for i in 0..<view.count { values[i] = (2 * values[i] - 1) * bound }
    }

    /// y[rows, out] = x[rows, in] · Wᵀ + b, then `finish` (a dropout mask on y, say) as each tile is done.
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore,
                        finish: PanelGEMM.Finish = .none) {
        MatrixProduct.multiply(.none, .transposed, m: rows, n: outFeatures, k: inFeatures, a: x, lda: inFeatures, b: p.value(weight),
                               ldb: inFeatures, c: y, ldc: outFeatures,
                               start: bias.map { .columnBias(p.value($0)) } ?? .zero, finish: finish)
    }

    /// dx += dy · W (dx = dy · W with `overwritingInput`, sparing the caller a zeroing pass), then `finishingInput`
    /// on dx;  dW += dyᵀ · x;  db += Σ_rows dy.  `dx` nil skips the input gradient.
    public func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                         rows: Int, _ p: ParameterStore, overwritingInput: Bool = false, finishingInput: PanelGEMM.Finish = .none) {
        if let dx {
            MatrixProduct.multiply(.none, .none, m: rows, n: inFeatures, k: outFeatures, a: dy, lda: outFeatures, b: p.value(weight),
                                   ldb: inFeatures, c: dx, ldc: inFeatures, start: overwritingInput ? .zero : .accumulate,
                                   finish: finishingInput)
        }
        if let dW = p.gradientIfNeeded(weight) {
            MatrixProduct.multiply(.transposed, .none, m: outFeatures, n: inFeatures, k: rows, a: dy, lda: outFeatures, b: x,
                                   ldb: inFeatures, c: dW, ldc: inFeatures, start: .accumulate)
        }
        if let bias, let db = p.gradientIfNeeded(bias) {
            for r in 0..<rows {
                let row = dy + r * outFeatures
                for o in 0..<outFeatures { db[o] += row[o] }
            }
        }
    }
}
