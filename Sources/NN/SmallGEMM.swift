import BLAS

/// GEMMs with one small operand and long rows, for the layers that mix along a short axis (TTM's patch and
/// channel mixers: 8-64 patches or channels, thousands of columns): the small matrix is read element by element
/// and broadcast, the long rows stream through eight-lane vectors (sixteen where the CPU has AVX-512, with the
/// same bits: see Kernels' `ColumnBlocks`), and the bias is folded in. Measured against OpenBLAS on the same
/// layout (reference TTM, interleaved runs): a pretraining step 3-6% faster, inference about even. Both count
/// their FLOPs and time in `GEMMStatistics` like `sgemm`.
public enum SmallGEMM {
    /// The largest small operand (elements) sent here rather than to sgemm: TTM's patch mixers reach 32 x 64.
    public static let maxSmallElements = 64 * 64

    /// C[m, columns] = A[m, k] · B[k, columns] + initial, where initial is C itself (`accumulate`), the
    /// per-row `bias`, or zero. A's element (r, i) is at a[r·aRow + i·aColumn], so Aᵀ of a stored matrix is
    /// just other strides. B and C are row-major with rows `columns` apart.
    public static func multiply(m: Int, k: Int, columns: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>? = nil,
                                accumulate: Bool = false) {
        let started = GEMMStatistics.start()
        ElementwiseLoops.kernels.smallGEMM(m: m, k: k, columns: columns, a: a, aRow: aRow, aColumn: aColumn, b: b, c: c, bias: bias,
                                           accumulate: accumulate)
        GEMMStatistics.record(flops: 2 * m * k * columns, since: started)
    }

    /// C[m, n] += A[m, columns] · B[n, columns]ᵀ, C row-major with rows `ldc` apart: every element is a dot
    /// product of two long rows (the weight gradient of a layer on columns). Four rows of A against two of B
    /// at a time, eight vector accumulators, each loaded vector used two or four times. The rows are long (up
    /// to 48 KB), so four rows of A go through the columns in chunks of 512 against every pair of B's rows,
    /// the pairs' accumulators waiting in a stack buffer between chunks: the chunk of A stays in L1 and only B
    /// streams from L2 (one pass over B per four rows of A, as before, but A's rows are no longer re-read for
    /// every pair). Each lane still adds its products in column order, so the bits are those of one pass.
    public static func multiplyTransposed(m: Int, n: Int, columns: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                          c: UnsafeMutablePointer<Float>, ldc: Int) {
        let started = GEMMStatistics.start()
        let whole = columns & ~7, chunk = 512
        var accumulators = InlineArray<2048, Float>(repeating: 0)  // 32 pairs × 8 vectors × 8 lanes
        var span = accumulators.mutableSpan
        span.withUnsafeMutableBufferPointer { buffer in
            let saved = buffer.baseAddress!
            for r in stride(from: 0, to: m - 3, by: 4) {
                let rowsA = a + r * columns
                for firstPair in stride(from: 0, to: n / 2, by: 32) {  // as many pairs as the buffer holds
                    let pairs = firstPair..<min(firstPair + 32, n / 2)
                    saved.update(repeating: 0, count: pairs.count * 64)
                    var t0 = 0
                    while t0 < whole {
                        let t1 = min(t0 + chunk, whole)
                        for pair in pairs {
                            accumulate4x2(rowsA, b + 2 * pair * columns, columns: columns, from: t0, to: t1, saved + (pair - firstPair) * 64)
                        }
                        t0 = t1
                    }
                    for pair in pairs {
                        finish4x2(rowsA, b + 2 * pair * columns, columns: columns, from: whole, saved + (pair - firstPair) * 64,
                                  c + r * ldc + 2 * pair, ldc: ldc)
                    }
                }
                if n % 2 == 1 {  // B's last row
                    for i in 0..<4 { c[(r + i) * ldc + n - 1] += Reduce.dot(rowsA + i * columns, b + (n - 1) * columns, count: columns) }
                }
            }
        }
        for r in (m / 4 * 4)..<m {  // A's rows past the last four
            for j in 0..<n { c[r * ldc + j] += Reduce.dot(a + r * columns, b + j * columns, count: columns) }
        }
        GEMMStatistics.record(flops: 2 * m * n * columns, since: started)
    }

    /// Eight vector accumulators at `saved` (lanes of rows i < 4 of a against rows j < 2 of b, in the order
    /// i·2 + j) += the products of columns t0 ..< t1 (multiples of 8), lane by lane.
    @inline(__always)
    private static func accumulate4x2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, columns: Int, from t0: Int, to t1: Int,
                                      _ saved: UnsafeMutablePointer<Float>) {
        let a1 = a + columns, a2 = a1 + columns, a3 = a2 + columns, b1 = b + columns
        var s00 = loadLanes(saved), s01 = loadLanes(saved + 8), s10 = loadLanes(saved + 16), s11 = loadLanes(saved + 24)
        var s20 = loadLanes(saved + 32), s21 = loadLanes(saved + 40), s30 = loadLanes(saved + 48), s31 = loadLanes(saved + 56)
        var t = t0
        while t < t1 {
            let x0 = loadLanes(b + t), x1 = loadLanes(b1 + t)
            let y0 = loadLanes(a + t), y1 = loadLanes(a1 + t), y2 = loadLanes(a2 + t), y3 = loadLanes(a3 + t)
            s00 = s00.addingProduct(y0, x0); s01 = s01.addingProduct(y0, x1)
            s10 = s10.addingProduct(y1, x0); s11 = s11.addingProduct(y1, x1)
            s20 = s20.addingProduct(y2, x0); s21 = s21.addingProduct(y2, x1)
            s30 = s30.addingProduct(y3, x0); s31 = s31.addingProduct(y3, x1)
            t &+= 8
        }
        storeLanes(s00, saved); storeLanes(s01, saved + 8); storeLanes(s10, saved + 16); storeLanes(s11, saved + 24)
        storeLanes(s20, saved + 32); storeLanes(s21, saved + 40); storeLanes(s30, saved + 48); storeLanes(s31, saved + 56)
    }

    /// c[i·ldc + j] += the lanes at `saved` summed pairwise, then the products of the columns from `tail` on.
    @inline(__always)
    private static func finish4x2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, columns: Int, from tail: Int,
                                  _ saved: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<4 {
            for j in 0..<2 {
                let row = a + i * columns, other = b + j * columns
                var total = Reduce.total(loadLanes(saved + (i * 2 + j) * 8))
                for u in tail..<columns { total = total.addingProduct(row[u], other[u]) }
                c[i * ldc + j] += total
            }
        }
    }
}
