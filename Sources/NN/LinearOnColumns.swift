import Kernels

/// A Linear layer applied along the leading axis: x [in, columns] holds one input vector per column, and
/// y [out, columns] = W x + b ⊗ 1. TTM's patch and channel mixers mix a short leading axis this way, which
/// spares the transposes that the row layout (`forward`) would need around them.
extension Linear {
    /// Whether the small-operand kernels beat the GEMM for this layer on columns (8-64 patches or channels).
    var usesSmallKernels: Bool { inFeatures * outFeatures <= SmallGEMM.maxSmallElements }

    /// y[out, columns] = W · x[in, columns] + b (per row of y), then `finish` on y.
    public func forward(columns x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count columns: Int, _ p: ParameterStore,
                        finish: PanelGEMM.Finish = .none) {
        let w = p.value(weight), b = bias.map { UnsafePointer(p.value($0)) }
        if usesSmallKernels {
            SmallGEMM.multiply(m: outFeatures, k: inFeatures, columns: columns, a: w, aRow: inFeatures, aColumn: 1,
                               b: x, c: y, bias: b)
            ElementwiseLoops.kernels.finish(finish, y, count: outFeatures * columns)
            return
        }
        MatrixProduct.multiply(.none, .none, m: outFeatures, n: columns, k: inFeatures, a: w, lda: inFeatures, b: x, ldb: columns,
                               c: y, ldc: columns, start: b.map { .rowBias($0) } ?? .zero, finish: finish)
    }

    /// dx += Wᵀ dy (dx = … with `overwritingInput`; nil skips it), then `finishingInput` on dx;  dW += dy xᵀ;
    /// db += Σ_columns dy.
    public func backward(columns dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                         count columns: Int, _ p: ParameterStore, overwritingInput: Bool = false,
                         finishingInput: PanelGEMM.Finish = .none) {
        let w = p.value(weight)
        if let dx {
            if usesSmallKernels {
                SmallGEMM.multiply(m: inFeatures, k: outFeatures, columns: columns, a: w, aRow: 1, aColumn: inFeatures,
                                   b: dy, c: dx, accumulate: !overwritingInput)
                ElementwiseLoops.kernels.finish(finishingInput, dx, count: inFeatures * columns)
            } else {
                MatrixProduct.multiply(.transposed, .none, m: inFeatures, n: columns, k: outFeatures, a: w, lda: inFeatures, b: dy,
                                       ldb: columns, c: dx, ldc: columns, start: overwritingInput ? .zero : .accumulate,
                                       finish: finishingInput)
            }
        }
        if let dW = p.gradientIfNeeded(weight) {
            if usesSmallKernels {
                SmallGEMM.multiplyTransposed(m: outFeatures, n: inFeatures, columns: columns, a: dy, b: x, c: dW, ldc: inFeatures)
            } else {
                MatrixProduct.multiply(.none, .transposed, m: outFeatures, n: inFeatures, k: columns, a: dy, lda: columns, b: x,
                                       ldb: columns, c: dW, ldc: inFeatures, start: .accumulate)
            }
        }
        if let bias, let db = p.gradientIfNeeded(bias) {
            for o in 0..<outFeatures { db[o] += Reduce.sum(dy + o * columns, count: columns) }
        }
    }
}
