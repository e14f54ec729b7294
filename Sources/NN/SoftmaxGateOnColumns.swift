import Kernels
/// The gate along the leading axis: x [features, columns], softmax over the features of each column. Each
/// column's reductions run down the rows in vector lanes, with no horizontal sums, however short the gated axis
/// (TTM's patch and channel mixers gate over 2-256 patches or channels). Per column the operations and their
/// order are those of a plain loop down the rows.
///
/// The elementwise work after the projection is Kernels' `ColumnGate`, in the build `ElementwiseLoops` chose.
/// The forward takes blocks of four vectors (32 columns, 64 with AVX-512: the seed default's forward 1.8% ->
/// 1.1% of a pretraining step, 5.1% -> 2.6% of inference), then 8, down all the rows. The backward goes a row
/// at a time across chunks of up to 1,024 columns, whose running sums wait on the stack: the column counts are
/// 64 windows x d, so k rows of a block lie a multiple of 4 KB apart, share a few L1 sets and evict each other
/// between the backward's two passes (row by row: the seed default's gate backward 2.9% -> 1.9% of a
/// pretraining step, the reference's 2.2% -> 1.7%; the forward, whose rows are fewer where it matters,
/// measured slower that way). The backward streams five arrays and runs eight lanes in both builds.
extension SoftmaxGate {
    /// y = x ⊙ s with s = softmax over the leading axis of (W x + b); `weights` receives s [features, columns].
    public func forward(columns x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count columns: Int,
                        weights s: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        projection.forward(columns: x, s, count: columns, p)
        ElementwiseLoops.kernels.columnGateForward(x: x, y: y, s: s, k: features, columns: columns)
    }

    /// dx += dy ⊙ s + Wᵀ dlogits (dx = … with `overwritingInput`), dlogits = s ⊙ (dy ⊙ x - Σ_features dy ⊙ x ⊙ s)
    /// per column; `scratch` holds dlogits.
    public func backward(columns dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weights s: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, count columns: Int, scratch: FloatBuffer, _ p: ParameterStore,
                         overwritingInput: Bool = false) {
        let k = features
        let dlogits = scratch.reserve(k * columns)
        ElementwiseLoops.kernels.columnGateBackward(dy: dy, x: x, s: s, dlogits: dlogits, dx: dx, overwriting: overwritingInput, k: k,
                                                    columns: columns)
        projection.backward(columns: dlogits, x: x, dx: dx, count: columns, p)
    }
}
