import BLAS
import Kernels

/// The layers' GEMM: C = start + op(A) · op(B), row-major like `sgemm`, with C's start given as zero, C itself,
/// or a bias per row or per column (folded in, so no pass writes the bias rows first). On a thread where OpenBLAS
/// runs single-threaded, which is every engine thread and every rank of a training run, this is Kernels'
/// `PanelGEMM` (see there for why); where OpenBLAS has several threads for one call (a model with BatchNorm, an
/// evaluation given the cores), it is OpenBLAS, which then splits the product among them.
public enum MatrixProduct {
    public static func multiply(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, start: PanelGEMM.Start) {
        guard OpenBLAS.threadCount == 1 else {
            return threadedOpenBLAS(transA, transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, start: start)
        }
        precondition(m >= 0 && n >= 0 && k >= 0, "MatrixProduct: negative dimension m=\(m) n=\(n) k=\(k)")
        let started = GEMMStatistics.start()
        ElementwiseLoops.kernels.gemm(m: m, n: n, k: k, a: a, aRow: transA == .none ? lda : 1, aColumn: transA == .none ? 1 : lda,
                                      b: b, bRow: transB == .none ? ldb : 1, bColumn: transB == .none ? 1 : ldb,
                                      c: c, ldc: ldc, start: start)
        GEMMStatistics.record(flops: 2 * m * n * k, since: started)
    }

    private static func threadedOpenBLAS(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                                         a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                         c: UnsafeMutablePointer<Float>, ldc: Int, start: PanelGEMM.Start) {
        switch start {
        case .zero, .accumulate: break
        case .rowBias(let bias):
            for r in 0..<m { (c + r * ldc).update(repeating: bias[r], count: n) }
        case .columnBias(let bias):
            for r in 0..<m { (c + r * ldc).update(from: bias, count: n) }
        }
        let beta: Float = if case .zero = start { 0 } else { 1 }
        sgemm(transA, transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
}
