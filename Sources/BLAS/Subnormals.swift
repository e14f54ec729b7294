import CBLAS

/// Subnormal floats (magnitude below 1.2e-38) cost x86 cores a microcode assist per operation, tens to
/// hundreds of times a normal multiply-add. Training produces them (a softmax gate's tiny weights times small
/// activations, gradients of saturated units), and one GEMM full of them ran a TTM pretraining at half speed.
/// Flushing them to zero changes values only below float32's normal range.
public enum Subnormals {
    /// Flush subnormal results and inputs to zero on the calling thread (MXCSR is per thread); `false` restores
    /// IEEE gradual underflow.
    public static func flushToZero(_ on: Bool = true) { ttm_flush_subnormals(on ? 1 : 0) }

    /// Whether the calling thread flushes them.
    public static var flushedToZero: Bool { ttm_subnormals_flushed() != 0 }
}
