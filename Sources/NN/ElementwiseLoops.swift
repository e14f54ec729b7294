#if canImport(Glibc)
import Glibc
#endif
import CPUFeatures
import Kernels
import KernelsAVX512

/// Which build of the elementwise loops (`Kernels.Elementwise`) the layers call: the eight-lane loops that NN
/// is compiled with, or the same loops compiled for AVX-512 (`KernelsAVX512`) where the CPU has it. Both do the
/// same operations per element in the same order, so the choice changes speed, never results; TTM_AVX512=0 in
/// the environment keeps the eight-lane loops.
public enum ElementwiseLoops {
    public static let usesAVX512: Bool = {
        if let setting = getenv("TTM_AVX512"), String(cString: setting) == "0" { return false }
        return ttm_cpu_supports_avx512() != 0
    }()

    /// For benchmark and log lines.
    public static var description: String { usesAVX512 ? "AVX-512 (16 lanes)" : "8 lanes (AVX2)" }

    static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        if usesAVX512 { Elementwise512.gelu(x, y, count: count) } else { Elementwise.gelu(x, y, count: count) }
    }

    static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>, count: Int) {
        if usesAVX512 {
            Elementwise512.gelu(x, y, derivative: derivative, count: count)
        } else {
            Elementwise.gelu(x, y, derivative: derivative, count: count)
        }
    }

    static func geluBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        if usesAVX512 {
            Elementwise512.geluBackward(dy: dy, x: x, dx: dx, count: count)
        } else {
            Elementwise.geluBackward(dy: dy, x: x, dx: dx, count: count)
        }
    }

    static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        if usesAVX512 { Elementwise512.multiply(a, b, into: out, count: count) } else { Elementwise.multiply(a, b, into: out, count: count) }
    }

    static func multiply(_ a: UnsafePointer<Float>, keeping keep: UnsafePointer<UInt8>, scale: Float,
                         into out: UnsafeMutablePointer<Float>, count: Int) {
        if usesAVX512 {
            Elementwise512.multiply(a, keeping: keep, scale: scale, into: out, count: count)
        } else {
            Elementwise.multiply(a, keeping: keep, scale: scale, into: out, count: count)
        }
    }

    static func multiply(_ a: UnsafePointer<Float>, keeping keep: UnsafePointer<UInt8>, scale: Float, _ c: UnsafePointer<Float>,
                         into out: UnsafeMutablePointer<Float>, count: Int) {
        if usesAVX512 {
            Elementwise512.multiply(a, keeping: keep, scale: scale, c, into: out, count: count)
        } else {
            Elementwise.multiply(a, keeping: keep, scale: scale, c, into: out, count: count)
        }
    }
}
