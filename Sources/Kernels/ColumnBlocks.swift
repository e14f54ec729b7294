/// NN's `SmallGEMM.multiply`, written once for any vector width so that Kernels builds it with eight lanes and
/// `KernelsAVX512` with sixteen: C[m, columns] = A[m, k] · B[k, columns] + initial, where initial is C itself
/// (`accumulate`), the per-row `bias`, or zero. A's element (r, i) is at a[r·aRow + i·aColumn]; B and C are
/// row-major, rows `columns` apart. Every output element is its initial value plus A's products added in order
/// of k, one fused multiply-add each, whatever the width or the block it falls in: the same bits.
public enum ColumnBlocks {
    /// Blocks of four vectors of `Lanes` (then, for a width past eight, blocks of four eight-lane vectors),
    /// then one eight-lane vector per output row, then single columns.
    @inlinable @inline(__always)
    public static func multiply<Lanes: SIMD>(m: Int, k: Int, columns: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                             b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                                             accumulate: Bool, lanes: Lanes.Type) where Lanes.Scalar == Float {
        var c0 = blocks(from: 0, m: m, k: k, columns: columns, a: a, aRow: aRow, aColumn: aColumn, b: b, c: c, bias: bias,
                        accumulate: accumulate, lanes: Lanes.self)
        if Lanes.scalarCount > 8 {
            c0 = blocks(from: c0, m: m, k: k, columns: columns, a: a, aRow: aRow, aColumn: aColumn, b: b, c: c, bias: bias,
                        accumulate: accumulate, lanes: SIMD8<Float>.self)
        }
        while c0 &+ 8 <= columns {
            for r in 0..<m {
                oneVector(r, c0, k: k, columns: columns, a: a, aRow: aRow, aColumn: aColumn, b: b, c: c, bias: bias,
                          accumulate: accumulate, lanes: SIMD8<Float>.self)
            }
            c0 &+= 8
        }
        for column in c0..<columns {
            for r in 0..<m {
                var acc = accumulate ? c[r &* columns &+ column] : bias?[r] ?? 0
                for i in 0..<k { acc = acc.addingProduct(a[r &* aRow &+ i &* aColumn], b[i &* columns &+ column]) }
                c[r &* columns &+ column] = acc
            }
        }
    }

    /// Whole blocks of four vectors of `Lanes` from column `start` on; returns the first column it left. Two
    /// output rows × four vectors at a time: eight independent accumulators (enough to hide the FMA latency),
    /// each broadcast element of A used four times, each loaded vector of B twice. B's block of k rows is first
    /// copied to a contiguous buffer on the stack: TTM's column counts are multiples of 1024, so B's rows lie a
    /// multiple of 4 KB apart and the block's k rows would fall into the same few L1 sets, evicting each other
    /// before the next pair of output rows reads them (measured: 1.5-2x faster with the copy at those strides).
    /// B with more than 64 rows (never in TTM) is read in place.
    @inlinable @inline(__always)
    static func blocks<Lanes: SIMD>(from start: Int, m: Int, k: Int, columns: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                    b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                                    accumulate: Bool, lanes: Lanes.Type) -> Int where Lanes.Scalar == Float {
        let width = Lanes.scalarCount, block = 4 &* width
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
        @inline(__always) func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self) }
        @inline(__always) func initial(_ out: UnsafeMutablePointer<Float>, _ r: Int) -> Lanes {
            accumulate ? load(out) : Lanes(repeating: bias?[r] ?? 0)
        }
        guard start &+ block <= columns else { return start }
        var packed = InlineArray<4096, Float>(repeating: 0)  // 64 rows × 64 columns at most
        let packs = k <= 64 && m > 2
        var c0 = start
        var packedSpan = packed.mutableSpan
        packedSpan.withUnsafeMutableBufferPointer { buffer in
            let copy = buffer.baseAddress!
            while c0 &+ block <= columns {
                if packs {
                    for i in 0..<k {
                        let from = b + (i &* columns &+ c0), to = copy + i &* block
                        store(load(from), to); store(load(from + width), to + width)
                        store(load(from + 2 &* width), to + 2 &* width); store(load(from + 3 &* width), to + 3 &* width)
                    }
                }
                let source = packs ? UnsafePointer(copy) : b + c0, sourceStride = packs ? block : columns
                var r = 0
                while r &+ 2 <= m {
                    let out0 = c + (r &* columns &+ c0), out1 = out0 + columns
                    var x0 = initial(out0, r), x1 = initial(out0 + width, r)
                    var x2 = initial(out0 + 2 &* width, r), x3 = initial(out0 + 3 &* width, r)
                    var y0 = initial(out1, r &+ 1), y1 = initial(out1 + width, r &+ 1)
                    var y2 = initial(out1 + 2 &* width, r &+ 1), y3 = initial(out1 + 3 &* width, r &+ 1)
                    var a0 = a + r &* aRow, a1 = a0 + aRow, row = source
                    for _ in 0..<k {
                        let v0 = load(row), v1 = load(row + width), v2 = load(row + 2 &* width), v3 = load(row + 3 &* width)
                        let w0 = Lanes(repeating: a0.pointee), w1 = Lanes(repeating: a1.pointee)
                        x0 = x0.addingProduct(w0, v0); x1 = x1.addingProduct(w0, v1); x2 = x2.addingProduct(w0, v2); x3 = x3.addingProduct(w0, v3)
                        y0 = y0.addingProduct(w1, v0); y1 = y1.addingProduct(w1, v1); y2 = y2.addingProduct(w1, v2); y3 = y3.addingProduct(w1, v3)
                        a0 += aColumn; a1 += aColumn; row += sourceStride
                    }
                    store(x0, out0); store(x1, out0 + width); store(x2, out0 + 2 &* width); store(x3, out0 + 3 &* width)
                    store(y0, out1); store(y1, out1 + width); store(y2, out1 + 2 &* width); store(y3, out1 + 3 &* width)
                    r &+= 2
                }
                if r < m {  // the last row of an odd m
                    for v in 0..<4 {
                        oneVector(r, c0 &+ v &* width, k: k, columns: columns, a: a, aRow: aRow, aColumn: aColumn, b: b, c: c,
                                  bias: bias, accumulate: accumulate, lanes: Lanes.self)
                    }
                }
                c0 &+= block
            }
        }
        return c0
    }

    /// Output row r, one vector of columns from c0: a single accumulator (latency-bound; remainders only).
    @inlinable @inline(__always)
    static func oneVector<Lanes: SIMD>(_ r: Int, _ c0: Int, k: Int, columns: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                       b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                                       accumulate: Bool, lanes: Lanes.Type) where Lanes.Scalar == Float {
        let out = UnsafeMutableRawPointer(c + (r &* columns &+ c0))
        var acc = accumulate ? out.loadUnaligned(as: Lanes.self) : Lanes(repeating: bias?[r] ?? 0)
        for i in 0..<k {
            acc = acc.addingProduct(Lanes(repeating: a[r &* aRow &+ i &* aColumn]),
                                    UnsafeRawPointer(b + (i &* columns &+ c0)).loadUnaligned(as: Lanes.self))
        }
        out.storeBytes(of: acc, as: Lanes.self)
    }
}
