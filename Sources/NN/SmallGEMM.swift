import BLAS

/// GEMMs with one small operand and long rows, for the layers that mix along a short axis (TTM's patch and
/// channel mixers: 8-64 patches or channels, thousands of columns): the small matrix is read element by element
/// and broadcast, and the long rows stream through eight-lane vectors, with no packing copy of the long operand
/// and the bias folded in. Measured against OpenBLAS on the same layout (reference TTM, interleaved runs): a
/// pretraining step 3-6% faster, inference about even. Both count their FLOPs and time in `GEMMStatistics`
/// like `sgemm`.
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
        // Two output rows × 32 columns at a time: eight independent accumulators (enough to hide the FMA
        // latency), each broadcast element of A used four times, each loaded vector of B twice. B's block of
        // k rows × 32 columns is first copied to a contiguous buffer (8 KB for k ≤ 64): TTM's column counts are multiples
        // of 1024, so B's rows lie a multiple of 4 KB apart and the block's k rows would all fall into the same
        // few L1 sets, evicting each other before the next pair of output rows reads them again (measured: the
        // copy makes these GEMMs 1.5-2x faster at those strides).
        @inline(__always) func initial(_ out: UnsafeMutablePointer<Float>, _ r: Int) -> SIMD8<Float> {
            accumulate ? loadLanes(out) : SIMD8(repeating: bias?[r] ?? 0)
        }
        /// Output row r, columns c0 ..< c0 + 8: one accumulator (latency-bound; for the remainders only).
        @inline(__always) func eightColumns(_ r: Int, _ c0: Int) {
            let out = c + (r &* columns &+ c0)
            var acc = initial(out, r)
            for i in 0..<k { acc = acc.addingProduct(SIMD8(repeating: a[r &* aRow &+ i &* aColumn]), loadLanes(b + (i &* columns &+ c0))) }
            storeLanes(acc, out)
        }
        // The copy of B's block lives on the stack; B with more than 64 rows (never in TTM) is read in place.
        var packed = InlineArray<2048, Float>(repeating: 0)
        let packs = k <= 64 && m > 2
        var c0 = 0
        var packedSpan = packed.mutableSpan
        packedSpan.withUnsafeMutableBufferPointer { packed in
            let block = packed.baseAddress!
            while c0 &+ 32 <= columns {
                if packs {
                    for i in 0..<k {
                        let from = b + (i &* columns &+ c0), to = block + i &* 32
                        storeLanes(loadLanes(from), to); storeLanes(loadLanes(from + 8), to + 8)
                        storeLanes(loadLanes(from + 16), to + 16); storeLanes(loadLanes(from + 24), to + 24)
                    }
                }
                let source = packs ? UnsafePointer(block) : b + c0, sourceStride = packs ? 32 : columns
                var r = 0
                while r &+ 2 <= m {
                    let out0 = c + (r &* columns &+ c0), out1 = out0 + columns
                    var x0 = initial(out0, r), x1 = initial(out0 + 8, r), x2 = initial(out0 + 16, r), x3 = initial(out0 + 24, r)
                    var y0 = initial(out1, r &+ 1), y1 = initial(out1 + 8, r &+ 1), y2 = initial(out1 + 16, r &+ 1), y3 = initial(out1 + 24, r &+ 1)
                    var a0 = a + r &* aRow, a1 = a0 + aRow, row = source
                    for _ in 0..<k {
                        let v0 = loadLanes(row), v1 = loadLanes(row + 8), v2 = loadLanes(row + 16), v3 = loadLanes(row + 24)
                        let w0 = SIMD8<Float>(repeating: a0.pointee), w1 = SIMD8<Float>(repeating: a1.pointee)
                        x0 = x0.addingProduct(w0, v0); x1 = x1.addingProduct(w0, v1); x2 = x2.addingProduct(w0, v2); x3 = x3.addingProduct(w0, v3)
                        y0 = y0.addingProduct(w1, v0); y1 = y1.addingProduct(w1, v1); y2 = y2.addingProduct(w1, v2); y3 = y3.addingProduct(w1, v3)
                        a0 += aColumn; a1 += aColumn; row += sourceStride
                    }
                    storeLanes(x0, out0); storeLanes(x1, out0 + 8); storeLanes(x2, out0 + 16); storeLanes(x3, out0 + 24)
                    storeLanes(y0, out1); storeLanes(y1, out1 + 8); storeLanes(y2, out1 + 16); storeLanes(y3, out1 + 24)
                    r &+= 2
                }
                if r < m { for block in 0..<4 { eightColumns(r, c0 &+ 8 &* block) } }  // the last row of an odd m
                c0 &+= 32
            }
        }
        while c0 &+ 8 <= columns {
            for r in 0..<m { eightColumns(r, c0) }
            c0 &+= 8
        }
        for column in c0..<columns {
            for r in 0..<m {
                var acc = accumulate ? c[r &* columns &+ column] : bias?[r] ?? 0
                for i in 0..<k { acc = acc.addingProduct(a[r &* aRow &+ i &* aColumn], b[i &* columns &+ column]) }
                c[r &* columns &+ column] = acc
            }
        }
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
