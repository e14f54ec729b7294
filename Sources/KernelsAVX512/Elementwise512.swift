import Kernels

/// `Elementwise`'s loops and `ColumnBlocks` compiled for x86-64-v4 with 512-bit vectors (see Package.swift).
/// Call them only where `CPUFeatures` reports AVX-512: NN's `ElementwiseLoops` chooses.
public enum Elementwise512: VectorKernels {
    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.gelu(x, y, count: count)
    }

    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>,
                            count: Int) {
        Elementwise.gelu(x, y, derivative: derivative, count: count)
    }

    public static func geluBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.geluBackward(dy: dy, x: x, dx: dx, count: count)
    }

    public static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.multiply(a, b, into: out, count: count)
    }

    public static func multiply(_ a: UnsafePointer<Float>, keeping keep: UnsafePointer<UInt8>, scale: Float,
                                into out: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.multiply(a, keeping: keep, scale: scale, into: out, count: count)
    }

    public static func multiply(_ a: UnsafePointer<Float>, keeping keep: UnsafePointer<UInt8>, scale: Float, _ c: UnsafePointer<Float>,
                                into out: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.multiply(a, keeping: keep, scale: scale, c, into: out, count: count)
    }

    public static func smallGEMM(m: Int, k: Int, columns: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                 b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, accumulate: Bool) {
        ColumnBlocks.multiply(m: m, k: k, columns: columns, a: a, aRow: aRow, aColumn: aColumn, b: b, c: c, bias: bias,
                              accumulate: accumulate, lanes: SIMD16<Float>.self)
    }
}
