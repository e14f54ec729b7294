/// The loops that exist in two builds with the same bits: `Elementwise` here, compiled with the numeric
/// modules' eight lanes, and `Elementwise512` in KernelsAVX512, the same loops at sixteen lanes. NN picks one
/// build when it starts (`ElementwiseLoops.kernels`; SendableMetatype lets that choice be a global constant).
public protocol VectorKernels: SendableMetatype {
    static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int)
    static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>, count: Int)
    static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>,
                     keeping keep: UnsafePointer<UInt8>, scale: Float, count: Int)
    static func geluBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int)
    static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int)
    static func multiply(_ a: UnsafePointer<Float>, keeping keep: UnsafePointer<UInt8>, scale: Float,
                         into out: UnsafeMutablePointer<Float>, count: Int)
    static func multiply(_ a: UnsafePointer<Float>, keeping keep: UnsafePointer<UInt8>, scale: Float, _ c: UnsafePointer<Float>,
                         into out: UnsafeMutablePointer<Float>, count: Int)
    /// Draws and applies one sample's dropout mask (`MaskFill`).
    static func fillMask(_ fill: MaskFill)
    /// `ColumnGate.forward` and `ColumnGate.backward`.
    static func columnGateForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>, k: Int, columns: Int)
    static func columnGateBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, s: UnsafePointer<Float>,
                                   dlogits: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, overwriting: Bool,
                                   k: Int, columns: Int)
    /// `ColumnBlocks.multiply` (NN's `SmallGEMM.multiply`).
    static func smallGEMM(m: Int, k: Int, columns: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                          b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, accumulate: Bool)
    /// `PanelGEMM.multiply` (NN's `MatrixProduct`).
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int, b: UnsafePointer<Float>, bRow: Int,
                     bColumn: Int, c: UnsafeMutablePointer<Float>, ldc: Int, start: PanelGEMM.Start, finish: PanelGEMM.Finish)
    /// `PanelGEMM.Finish.apply` over c[0 ..< count] as a pass of its own (after products that are not PanelGEMM's).
    static func finish(_ finish: PanelGEMM.Finish, _ c: UnsafeMutablePointer<Float>, count: Int)
}

extension Elementwise: VectorKernels {
    public static func columnGateForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
                                         k: Int, columns: Int) {
        ColumnGate.forward(x: x, y: y, s: s, k: k, columns: columns, lanes: SIMD8<Float>.self)
    }

    public static func columnGateBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, s: UnsafePointer<Float>,
                                          dlogits: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, overwriting: Bool,
                                          k: Int, columns: Int) {
        ColumnGate.backward(dy: dy, x: x, s: s, dlogits: dlogits, dx: dx, overwriting: overwriting, k: k, columns: columns,
                            lanes: SIMD8<Float>.self)
    }

    public static func fillMask(_ fill: MaskFill) { fill.fillEightBlocksAtATime() }

    public static func smallGEMM(m: Int, k: Int, columns: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                 b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, accumulate: Bool) {
        ColumnBlocks.multiply(m: m, k: k, columns: columns, a: a, aRow: aRow, aColumn: aColumn, b: b, c: c, bias: bias,
                              accumulate: accumulate, lanes: SIMD8<Float>.self)
    }

    public static func finish(_ finish: PanelGEMM.Finish, _ c: UnsafeMutablePointer<Float>, count: Int) {
        finish.apply(to: c, at: 0, count: count)
    }

    /// Two eight-lane vectors per tile row: twelve accumulators of AVX2's sixteen registers.
    public static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int, b: UnsafePointer<Float>, bRow: Int,
                            bColumn: Int, c: UnsafeMutablePointer<Float>, ldc: Int, start: PanelGEMM.Start, finish: PanelGEMM.Finish) {
        PanelGEMM.multiply(m: m, n: n, k: k, a: a, aRow: aRow, aColumn: aColumn, b: b, bRow: bRow, bColumn: bColumn, c: c, ldc: ldc,
                           start: start, finish: finish, lanes: SIMD8<Float>.self, maxVectors: 2)
    }
}
