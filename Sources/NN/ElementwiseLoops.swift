#if canImport(Glibc)
import Glibc
#endif
import CPUFeatures
import Kernels
import KernelsAVX512

/// Which build of Kernels' loops the layers call: the eight-lane one (`Elementwise`), or the same loops
/// compiled for AVX-512 (`Elementwise512`) where the CPU has it. Both do the same operations per element in the
/// same order, so the choice changes speed, never results; TTM_AVX512=0 in the environment keeps eight lanes.
public enum ElementwiseLoops {
    public static let usesAVX512: Bool = {
        if let setting = getenv("TTM_AVX512"), String(cString: setting) == "0" { return false }
        return ttm_cpu_supports_avx512() != 0
    }()

    static let kernels: any VectorKernels.Type = usesAVX512 ? Elementwise512.self : Elementwise.self

    /// For benchmark and log lines.
    public static var description: String { usesAVX512 ? "AVX-512 (16 lanes)" : "8 lanes (AVX2)" }
}
