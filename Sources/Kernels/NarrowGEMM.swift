extension PanelGEMM {
    /// Whether `narrow` takes a product: fewer columns than two vectors, rows stored back to back (ldc = n),
    /// enough rows for whole vectors, a depth whose B fits the panel buffer, and a start that does not read C.
    @inlinable @inline(__always)
    static func takesNarrow(m: Int, n: Int, k: Int, ldc: Int, start: Start, lanes: Int) -> Bool {
        if case .accumulate = start { return false }
        let twoVectors: Int = 2 &* lanes
        guard n < twoVectors && ldc == n else { return false }
        let elements: Int = m &* n, panelUse: Int = k &* twoVectors
        return elements >= twoVectors && panelUse <= panelFloats
    }

    /// `narrow` with one vector per row of C, or two past `lanes` columns.
    @inlinable @inline(__always)
    static func narrow<Lanes: SIMD>(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                    b: UnsafePointer<Float>, bRow: Int, bColumn: Int, c: UnsafeMutablePointer<Float>,
                                    start: Start, finish: Finish, panel: UnsafeMutablePointer<Float>,
                                    lanes: Lanes.Type) where Lanes.Scalar == Float {
        if n > Lanes.scalarCount {
            narrow(m: m, n: n, k: k, a: a, aRow: aRow, aColumn: aColumn, b: b, bRow: bRow, bColumn: bColumn, c: c,
                   start: start, finish: finish, panel: panel, vectors: FixedCounts.Two.self, lanes: Lanes.self)
        } else {
            narrow(m: m, n: n, k: k, a: a, aRow: aRow, aColumn: aColumn, b: b, bRow: bRow, bColumn: bColumn, c: c,
                   start: start, finish: finish, panel: panel, vectors: FixedCounts.One.self, lanes: Lanes.self)
        }
    }

    /// C = start + A·B for products of fewer columns than two vectors (the seed default's finest levels: rows of
    /// 6-24 features over 4-16k rows), where PanelGEMM's six-row tiles were mostly set-up and padding (13-15 ns
    /// per row of a 16384x6x6 product, hot). Here each row of C is one or two vectors: eight vectors of rows at a
    /// time, each step one or two vectors of B and a broadcast of A per row. Rows are stored whole and in order, so
    /// a row's lanes past n land on the next rows, which are stored after it; the last rows, whose whole vectors
    /// would pass C's end, go lane by lane. (So C must not be read while it is written: no `accumulate` start.)
    /// The finish runs over C once, at the end. Every element is its start plus the products in order of p, one
    /// FMA each: the bits of `multiply`.
    @inlinable @inline(__always)
    static func narrow<Lanes: SIMD, Vectors: FixedCount>(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                                         b: UnsafePointer<Float>, bRow: Int, bColumn: Int, c: UnsafeMutablePointer<Float>,
                                                         start: Start, finish: Finish, panel: UnsafeMutablePointer<Float>,
                                                         vectors _: Vectors.Type, lanes: Lanes.Type) where Lanes.Scalar == Float {
        let w = Lanes.scalarCount, v = Vectors.count, width = v &* w, rowsPerBlock = 8 / v
        packPanel(b: b, bRow: bRow, bColumn: bColumn, depth: k, columns: n, width: width, into: panel)
        var columnStart = (Lanes(), Lanes())
        if case .columnBias(let bias) = start {
            for j in 0..<n { if j < w { columnStart.0[j] = bias[j] } else { columnStart.1[j &- w] = bias[j] } }
        }
        // Accumulator i of a block is vector i % v of row i / v.
        @inline(__always) func initial(_ r: Int, _ i: Int) -> Lanes {
            if case .rowBias(let bias) = start { return Lanes(repeating: bias[r &+ i / v]) }
            return i % v == 0 ? columnStart.0 : columnStart.1
        }
        @inline(__always) func element(_ r: Int, _ i: Int, _ p: Int) -> Lanes {
            let row: Int = r &+ i / v
            return Lanes(repeating: a[row &* aRow &+ p &* aColumn])
        }
        @inline(__always) func columns(_ p: Int, _ i: Int) -> Lanes {
            let offset: Int = p &* width &+ (i % v) &* w
            return UnsafeRawPointer(panel + offset).loadUnaligned(as: Lanes.self)
        }
        @inline(__always) func store(_ x: Lanes, _ r: Int, _ i: Int) {
            let offset: Int = (r &+ i / v) &* n &+ (i % v) &* w
            UnsafeMutableRawPointer(c + offset).storeBytes(of: x, as: Lanes.self)
        }
        // Rows below `whole` may be stored as whole vectors: r·n + width ≤ m·n.
        let whole = (m &* n &- width) / n &+ 1
        var r = 0
        while r &+ rowsPerBlock <= whole {
            var x0 = initial(r, 0), x1 = initial(r, 1), x2 = initial(r, 2), x3 = initial(r, 3)
            var x4 = initial(r, 4), x5 = initial(r, 5), x6 = initial(r, 6), x7 = initial(r, 7)
            for p in 0..<k {
                x0 = x0.addingProduct(element(r, 0, p), columns(p, 0)); x1 = x1.addingProduct(element(r, 1, p), columns(p, 1))
                x2 = x2.addingProduct(element(r, 2, p), columns(p, 2)); x3 = x3.addingProduct(element(r, 3, p), columns(p, 3))
                x4 = x4.addingProduct(element(r, 4, p), columns(p, 4)); x5 = x5.addingProduct(element(r, 5, p), columns(p, 5))
                x6 = x6.addingProduct(element(r, 6, p), columns(p, 6)); x7 = x7.addingProduct(element(r, 7, p), columns(p, 7))
            }
            store(x0, r, 0); store(x1, r, 1); store(x2, r, 2); store(x3, r, 3)
            store(x4, r, 4); store(x5, r, 5); store(x6, r, 6); store(x7, r, 7)
            r &+= rowsPerBlock
        }
        while r < m {  // one row at a time: its v vectors
            var x0 = initial(r, 0), x1 = initial(r, 1)
            for p in 0..<k {
                x0 = x0.addingProduct(element(r, 0, p), columns(p, 0))
                if v > 1 { x1 = x1.addingProduct(element(r, 1, p), columns(p, 1)) }
            }
            if r < whole {
                store(x0, r, 0)
                if v > 1 { store(x1, r, 1) }
            } else {
                for j in 0..<n { c[r &* n &+ j] = j < w ? x0[j] : x1[j &- w] }
            }
            r &+= 1
        }
        finish.apply(to: c, at: 0, count: m &* n)
    }
}
