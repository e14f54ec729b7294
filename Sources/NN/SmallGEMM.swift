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
    /// at a time: eight accumulators over the whole length, each loaded vector used two or four times.
    public static func multiplyTransposed(m: Int, n: Int, columns: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                                          c: UnsafeMutablePointer<Float>, ldc: Int) {
        let started = GEMMStatistics.start()
        var r = 0
        while r < m {
            let rows = min(4, m - r)
            var j = 0
            while j < n {
                if rows == 4 && j + 2 <= n {
                    dots4x2(a + r * columns, b + j * columns, columns: columns, c + r * ldc + j, ldc: ldc)
                    j += 2
                } else {
                    for i in 0..<rows { c[(r + i) * ldc + j] += Reduce.dot(a + (r + i) * columns, b + j * columns, count: columns) }
                    j += 1
                }
            }
            r += rows
        }
        GEMMStatistics.record(flops: 2 * m * n * columns, since: started)
    }

    /// c[i·ldc + j] += ⟨row i of a, row j of b⟩ for i < 4, j < 2 (rows `columns` long and apart).
    @inline(__always)
    private static func dots4x2(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, columns: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int) {
        let a1 = a + columns, a2 = a1 + columns, a3 = a2 + columns, b1 = b + columns
        var s00 = SIMD8<Float>(), s01 = SIMD8<Float>(), s10 = SIMD8<Float>(), s11 = SIMD8<Float>()
        var s20 = SIMD8<Float>(), s21 = SIMD8<Float>(), s30 = SIMD8<Float>(), s31 = SIMD8<Float>()
        var t = 0
        while t + 8 <= columns {
            let x0 = loadLanes(b + t), x1 = loadLanes(b1 + t)
            let y0 = loadLanes(a + t), y1 = loadLanes(a1 + t), y2 = loadLanes(a2 + t), y3 = loadLanes(a3 + t)
            s00 = s00.addingProduct(y0, x0); s01 = s01.addingProduct(y0, x1)
            s10 = s10.addingProduct(y1, x0); s11 = s11.addingProduct(y1, x1)
            s20 = s20.addingProduct(y2, x0); s21 = s21.addingProduct(y2, x1)
            s30 = s30.addingProduct(y3, x0); s31 = s31.addingProduct(y3, x1)
            t += 8
        }
        @inline(__always) func finish(_ lanes: SIMD8<Float>, _ row: UnsafePointer<Float>, _ other: UnsafePointer<Float>) -> Float {
            var total = Reduce.total(lanes)
            for u in t..<columns { total = total.addingProduct(row[u], other[u]) }
            return total
        }
        c[0] += finish(s00, a, b); c[1] += finish(s01, a, b1)
        c[ldc] += finish(s10, a1, b); c[ldc + 1] += finish(s11, a1, b1)
        c[2 * ldc] += finish(s20, a2, b); c[2 * ldc + 1] += finish(s21, a2, b1)
        c[3 * ldc] += finish(s30, a3, b); c[3 * ldc + 1] += finish(s31, a3, b1)
    }
}
