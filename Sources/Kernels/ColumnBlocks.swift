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
    /// each broadcast element of A used four times, each loaded vector of B twice; with sixteen lanes four rows
    /// (sixteen accumulators; patch-mixer shapes with cold caches 7-13% faster, while at eight lanes they spill). B's block of k rows is first
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
                if width > 8 {  // sixteen lanes: four rows' sixteen accumulators fit AVX-512's 32 registers
                    while r &+ 4 <= m {
                        rowBlock(r, c0, k: k, columns: columns, a: a, aRow: aRow, aColumn: aColumn, source: source,
                                 sourceStride: sourceStride, c: c, bias: bias, accumulate: accumulate, rows: FixedCounts.Four.self,
                                 lanes: Lanes.self)
                        r &+= 4
                    }
                }
                while r &+ 2 <= m {
                    rowBlock(r, c0, k: k, columns: columns, a: a, aRow: aRow, aColumn: aColumn, source: source,
                             sourceStride: sourceStride, c: c, bias: bias, accumulate: accumulate, rows: FixedCounts.Two.self,
                             lanes: Lanes.self)
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

    /// Output rows r ..< r + rows by four vectors of `Lanes` from column c0: one broadcast element of A per row and
    /// step, each loaded vector of B used by every row. `rows` is a type (two, or four with sixteen lanes), so its
    /// unused accumulators compile away.
    @inlinable @inline(__always)
    static func rowBlock<Lanes: SIMD, Rows: FixedCount>(_ r: Int, _ c0: Int, k: Int, columns: Int, a: UnsafePointer<Float>, aRow: Int,
                                                        aColumn: Int, source: UnsafePointer<Float>, sourceStride: Int,
                                                        c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, accumulate: Bool,
                                                        rows _: Rows.Type, lanes: Lanes.Type) where Lanes.Scalar == Float {
        let rows = Rows.count, width = Lanes.scalarCount
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
        @inline(__always) func store(_ v: Lanes, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Lanes.self) }
        let out0 = c + (r &* columns &+ c0), out1 = out0 + columns, out2 = out1 + columns, out3 = out2 + columns
        @inline(__always) func initial(_ out: UnsafeMutablePointer<Float>, _ i: Int, _ v: Int) -> Lanes {
            guard i < rows else { return Lanes() }
            return accumulate ? load(out + v &* width) : Lanes(repeating: bias?[r &+ i] ?? 0)
        }
        var x0 = initial(out0, 0, 0), x1 = initial(out0, 0, 1), x2 = initial(out0, 0, 2), x3 = initial(out0, 0, 3)
        var y0 = initial(out1, 1, 0), y1 = initial(out1, 1, 1), y2 = initial(out1, 1, 2), y3 = initial(out1, 1, 3)
        var z0 = initial(out2, 2, 0), z1 = initial(out2, 2, 1), z2 = initial(out2, 2, 2), z3 = initial(out2, 2, 3)
        var u0 = initial(out3, 3, 0), u1 = initial(out3, 3, 1), u2 = initial(out3, 3, 2), u3 = initial(out3, 3, 3)
        var a0 = a + r &* aRow, row = source
        for _ in 0..<k {
            let v0 = load(row), v1 = load(row + width), v2 = load(row + 2 &* width), v3 = load(row + 3 &* width)
            let w0 = Lanes(repeating: a0.pointee), w1 = Lanes(repeating: a0[aRow])
            x0 = x0.addingProduct(w0, v0); x1 = x1.addingProduct(w0, v1); x2 = x2.addingProduct(w0, v2); x3 = x3.addingProduct(w0, v3)
            y0 = y0.addingProduct(w1, v0); y1 = y1.addingProduct(w1, v1); y2 = y2.addingProduct(w1, v2); y3 = y3.addingProduct(w1, v3)
            if rows > 2 {
                let w2 = Lanes(repeating: a0[2 &* aRow]), w3 = Lanes(repeating: a0[3 &* aRow])
                z0 = z0.addingProduct(w2, v0); z1 = z1.addingProduct(w2, v1); z2 = z2.addingProduct(w2, v2); z3 = z3.addingProduct(w2, v3)
                u0 = u0.addingProduct(w3, v0); u1 = u1.addingProduct(w3, v1); u2 = u2.addingProduct(w3, v2); u3 = u3.addingProduct(w3, v3)
            }
            a0 += aColumn; row += sourceStride
        }
        store(x0, out0); store(x1, out0 + width); store(x2, out0 + 2 &* width); store(x3, out0 + 3 &* width)
        store(y0, out1); store(y1, out1 + width); store(y2, out1 + 2 &* width); store(y3, out1 + 3 &* width)
        if rows > 2 {
            store(z0, out2); store(z1, out2 + width); store(z2, out2 + 2 &* width); store(z3, out2 + 3 &* width)
            store(u0, out3); store(u1, out3 + width); store(u2, out3 + 2 &* width); store(u3, out3 + 3 &* width)
        }
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
