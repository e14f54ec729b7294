extension PanelGEMM {
    /// Whether `deepNarrow` takes a product: fewer columns than two vectors, B's rows contiguous and apart (so at
    /// most a vector's worth of its last rows needs the staging copy), a deep inner dimension, few rows, nothing to
    /// finish.
    @inlinable @inline(__always)
    static func takesDeepNarrow(m: Int, n: Int, k: Int, bRow: Int, bColumn: Int, finish: Finish, lanes: Int) -> Bool {
        guard case .none = finish else { return false }
        return n < 2 &* lanes && bColumn == 1 && bRow >= n && k >= 512 && m <= 64
    }

    /// C = start + A·B for a few rows and columns over a deep inner dimension: the weight gradients of the seed
    /// default's finest levels (6x12x4096, 24x12x2048, ...), where the tiles copied all of B into panels a depth
    /// block at a time and spilled C between blocks (8-20 GFLOP/s with eight lanes). Here six rows of C stay in
    /// registers, one or two vectors each, for the whole depth; B's rows are read in place, a whole vector at a
    /// time (lanes past n see the next row and are dropped), and its last rows, whose vectors would pass B's end,
    /// from a zero-padded copy. Every element is its start plus the products in order of p, one FMA each: the
    /// bits of `multiply`.
    @inlinable @inline(__always)
    static func deepNarrow<Lanes: SIMD>(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                        b: UnsafePointer<Float>, bRow: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                                        start: Start, staging: UnsafeMutablePointer<Float>, lanes: Lanes.Type) where Lanes.Scalar == Float {
        if n > Lanes.scalarCount {
            deepNarrow(m: m, n: n, k: k, a: a, aRow: aRow, aColumn: aColumn, b: b, bRow: bRow, c: c, ldc: ldc, start: start,
                       staging: staging, vectors: FixedCounts.Two.self, lanes: Lanes.self)
        } else {
            deepNarrow(m: m, n: n, k: k, a: a, aRow: aRow, aColumn: aColumn, b: b, bRow: bRow, c: c, ldc: ldc, start: start,
                       staging: staging, vectors: FixedCounts.One.self, lanes: Lanes.self)
        }
    }

    @inlinable @inline(__always)
    static func deepNarrow<Lanes: SIMD, Vectors: FixedCount>(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                                             b: UnsafePointer<Float>, bRow: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                                                             start: Start, staging: UnsafeMutablePointer<Float>, vectors _: Vectors.Type,
                                                             lanes: Lanes.Type) where Lanes.Scalar == Float {
        let w = Lanes.scalarCount, v = Vectors.count, width = v &* w
        // Rows p < inPlace have a whole `width` of floats from their start inside B: p·bRow + width ≤ (k-1)·bRow + n.
        let last: Int = (k &- 1) &* bRow &+ n
        let inPlace: Int = last < width ? 0 : Swift.min(k, (last &- width) / bRow &+ 1)
        @inline(__always) func columns(_ p: Int, _ vector: Int) -> Lanes {
            let row: UnsafePointer<Float> = p < inPlace ? b + p &* bRow : UnsafePointer(staging + (p &- inPlace) &* width)
            return UnsafeRawPointer(row + vector &* w).loadUnaligned(as: Lanes.self)
        }
        // The last rows, copied `width` apart; `multiply` hands over its panel buffer zeroed, so they are zero-padded.
        packPanel(b: b + inPlace &* bRow, bRow: bRow, bColumn: 1, depth: k &- inPlace, columns: n, width: width, into: staging)
        @inline(__always) func initial(_ row: Int, _ vector: Int) -> Lanes {
            var x = Lanes()
            guard row < m else { return x }
            for lane in 0..<w {
                let j = vector &* w &+ lane
                guard j < n else { break }
                switch start {
                case .zero: break
                case .accumulate: x[lane] = c[row &* ldc &+ j]
                case .rowBias(let bias): x[lane] = bias[row]
                case .columnBias(let bias): x[lane] = bias[j]
                }
            }
            return x
        }
        @inline(__always) func store(_ x: Lanes, _ row: Int, _ vector: Int) {
            guard row < m else { return }
            for lane in 0..<w {
                let j = vector &* w &+ lane
                guard j < n else { break }
                c[row &* ldc &+ j] = x[lane]
            }
        }
        var r0 = 0
        while r0 < m {
            // Rows past m read row m - 1 of A and are not stored.
            let a0 = a + Swift.min(r0, m &- 1) &* aRow, a1 = a + Swift.min(r0 &+ 1, m &- 1) &* aRow
            let a2 = a + Swift.min(r0 &+ 2, m &- 1) &* aRow, a3 = a + Swift.min(r0 &+ 3, m &- 1) &* aRow
            let a4 = a + Swift.min(r0 &+ 4, m &- 1) &* aRow, a5 = a + Swift.min(r0 &+ 5, m &- 1) &* aRow
            var x0 = initial(r0, 0), x1 = initial(r0 &+ 1, 0), x2 = initial(r0 &+ 2, 0)
            var x3 = initial(r0 &+ 3, 0), x4 = initial(r0 &+ 4, 0), x5 = initial(r0 &+ 5, 0)
            var y0 = initial(r0, 1), y1 = initial(r0 &+ 1, 1), y2 = initial(r0 &+ 2, 1)
            var y3 = initial(r0 &+ 3, 1), y4 = initial(r0 &+ 4, 1), y5 = initial(r0 &+ 5, 1)
            var offset = 0
            for p in 0..<k {
                let u = columns(p, 0)
                let e0 = Lanes(repeating: a0[offset]), e1 = Lanes(repeating: a1[offset]), e2 = Lanes(repeating: a2[offset])
                let e3 = Lanes(repeating: a3[offset]), e4 = Lanes(repeating: a4[offset]), e5 = Lanes(repeating: a5[offset])
                x0 = x0.addingProduct(e0, u); x1 = x1.addingProduct(e1, u); x2 = x2.addingProduct(e2, u)
                x3 = x3.addingProduct(e3, u); x4 = x4.addingProduct(e4, u); x5 = x5.addingProduct(e5, u)
                if v > 1 {
                    let t = columns(p, 1)
                    y0 = y0.addingProduct(e0, t); y1 = y1.addingProduct(e1, t); y2 = y2.addingProduct(e2, t)
                    y3 = y3.addingProduct(e3, t); y4 = y4.addingProduct(e4, t); y5 = y5.addingProduct(e5, t)
                }
                offset &+= aColumn
            }
            store(x0, r0, 0); store(x1, r0 &+ 1, 0); store(x2, r0 &+ 2, 0)
            store(x3, r0 &+ 3, 0); store(x4, r0 &+ 4, 0); store(x5, r0 &+ 5, 0)
            if v > 1 {
                store(y0, r0, 1); store(y1, r0 &+ 1, 1); store(y2, r0 &+ 2, 1)
                store(y3, r0 &+ 3, 1); store(y4, r0 &+ 4, 1); store(y5, r0 &+ 5, 1)
            }
            r0 &+= 6
        }
    }
}
