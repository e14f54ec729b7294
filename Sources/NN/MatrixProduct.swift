import BLAS
import Dispatch
import Kernels

/// The layers' GEMM: C = start + op(A) · op(B), row-major like `sgemm`, with C's start given as zero, C itself,
/// or a bias per row or per column (folded in, so no pass writes the bias rows first), and optionally a dropout
/// mask (and factor) applied as each tile is finished (`PanelGEMM.Finish`), so no pass re-reads C for it. It runs
/// Kernels' `PanelGEMM` (see there for why not OpenBLAS) on the rank's GEMM threads: OpenBLAS's thread setting, which
/// ttm already shares among the ranks of a node and sets to one on the engine's own threads. Several threads
/// take blocks of rows (or of columns, for a product with few rows) and each element is still computed by the
/// same sequence of operations, so the result has the same bits whatever the thread count.
public enum MatrixProduct {
    /// Below this many FLOPs a product stays on the calling thread (dispatching costs some microseconds).
    static let threadedFLOPs = 4 << 20

    public static func multiply(_ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int,
                                a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                                c: UnsafeMutablePointer<Float>, ldc: Int, start: PanelGEMM.Start,
                                finish: PanelGEMM.Finish = .none) {
        precondition(m >= 0 && n >= 0 && k >= 0, "MatrixProduct: negative dimension m=\(m) n=\(n) k=\(k)")
        let started = GEMMStatistics.start()
        let aRow = transA == .none ? lda : 1, aColumn = transA == .none ? 1 : lda
        let bRow = transB == .none ? ldb : 1, bColumn = transB == .none ? 1 : ldb
        let threads = 2 * m * n * k >= threadedFLOPs ? OpenBLAS.threadCount : 1
        if threads <= 1 {
            ElementwiseLoops.kernels.gemm(m: m, n: n, k: k, a: a, aRow: aRow, aColumn: aColumn, b: b, bRow: bRow, bColumn: bColumn,
                                          c: c, ldc: ldc, start: start, finish: finish)
        } else {
            // Rows in multiples of the six-row tile, or columns in multiples of the 64-column panel.
            let byRows = m >= 12 * threads, unit = byRows ? 6 : 64, extent = byRows ? m : n
            let parts = min(threads, (extent + unit - 1) / unit)
            let flushes = Subnormals.flushedToZero
            // The parts write disjoint blocks of C and only read A, B and the bias.
            nonisolated(unsafe) let a = a, b = b, c = c, start = start, finish = finish
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                Subnormals.flushToZero(flushes)  // as on the calling thread: a worker's own setting is unknown
                let units = (extent + unit - 1) / unit
                let first = part * units / parts * unit, end = min(extent, (part + 1) * units / parts * unit)
                guard first < end else { return }
                // The part's rows (or columns) of A (or B) and C, its slice of the bias and of the finish's operands.
                let row = byRows ? first : 0, column = byRows ? 0 : first
                ElementwiseLoops.kernels.gemm(m: byRows ? end - first : m, n: byRows ? n : end - first, k: k,
                                              a: a + row * aRow, aRow: aRow, aColumn: aColumn, b: b + column * bColumn, bRow: bRow,
                                              bColumn: bColumn, c: c + row * ldc + column, ldc: ldc,
                                              start: start.advanced(rows: row, columns: column),
                                              finish: finish.advanced(by: row * ldc + column))
            }
        }
        GEMMStatistics.record(flops: 2 * m * n * k, since: started)
    }
}
