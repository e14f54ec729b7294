extension PanelGEMM {
    /// Whether `narrow` takes a product: at most one vector of columns, rows stored back to back (ldc = n), enough
    /// rows for whole vectors, a depth whose B fits the panel buffer, and a start that does not read C.
    @inlinable @inline(__always)
    static func takesNarrow(m: Int, n: Int, k: Int, ldc: Int, start: Start, lanes: Int) -> Bool {
        if case .accumulate = start { return false }
        return n < lanes && ldc == n && m &* n >= 2 &* lanes && k &* lanes <= panelFloats
    }

    /// C = start + A·B for products of fewer columns than a vector (the seed default's finest levels: rows of 6-12
    /// features over 8-16k rows), where PanelGEMM's six-row tiles were mostly set-up and padding (13-15 ns per row
    /// of a 16384x6x6 product, hot). Here each row of C is one vector: eight rows at a time, each step one vector
    /// of B and eight broadcasts of A. Rows are stored whole and in order, so a row's lanes past n land on the
    /// next rows, which are stored after it; the last rows, whose whole vector would pass C's end, go lane by lane.
    /// (So C must not be read while it is written: no `accumulate` start.) The finish runs over C once, at the end.
    /// Every element is its start plus the products in order of p, one FMA each: the bits of `multiply`.
    @inlinable @inline(__always)
    static func narrow<Lanes: SIMD>(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                    b: UnsafePointer<Float>, bRow: Int, bColumn: Int, c: UnsafeMutablePointer<Float>,
                                    start: Start, finish: Finish, panel: UnsafeMutablePointer<Float>,
                                    lanes: Lanes.Type) where Lanes.Scalar == Float {
        let w = Lanes.scalarCount
        for p in 0..<k { for j in 0..<w { panel[p &* w &+ j] = j < n ? b[p &* bRow &+ j &* bColumn] : 0 } }
        var columnStart = Lanes()
        if case .columnBias(let bias) = start { for j in 0..<n { columnStart[j] = bias[j] } }
        @inline(__always) func initial(_ r: Int) -> Lanes {
            if case .rowBias(let bias) = start { return Lanes(repeating: bias[r]) }
            return columnStart
        }
        @inline(__always) func element(_ r: Int, _ p: Int) -> Lanes { Lanes(repeating: a[r &* aRow &+ p &* aColumn]) }
        @inline(__always) func store(_ x: Lanes, row r: Int) {
            UnsafeMutableRawPointer(c + r &* n).storeBytes(of: x, as: Lanes.self)
        }
        // Rows below `whole` may be stored as a whole vector: r·n + w ≤ m·n.
        let whole = (m &* n &- w) / n &+ 1
        var r = 0
        while r &+ 8 <= whole {
            var x0 = initial(r), x1 = initial(r &+ 1), x2 = initial(r &+ 2), x3 = initial(r &+ 3)
            var x4 = initial(r &+ 4), x5 = initial(r &+ 5), x6 = initial(r &+ 6), x7 = initial(r &+ 7)
            for p in 0..<k {
                let bp = UnsafeRawPointer(panel + p &* w).loadUnaligned(as: Lanes.self)
                x0 = x0.addingProduct(element(r, p), bp); x1 = x1.addingProduct(element(r &+ 1, p), bp)
                x2 = x2.addingProduct(element(r &+ 2, p), bp); x3 = x3.addingProduct(element(r &+ 3, p), bp)
                x4 = x4.addingProduct(element(r &+ 4, p), bp); x5 = x5.addingProduct(element(r &+ 5, p), bp)
                x6 = x6.addingProduct(element(r &+ 6, p), bp); x7 = x7.addingProduct(element(r &+ 7, p), bp)
            }
            store(x0, row: r); store(x1, row: r &+ 1); store(x2, row: r &+ 2); store(x3, row: r &+ 3)
            store(x4, row: r &+ 4); store(x5, row: r &+ 5); store(x6, row: r &+ 6); store(x7, row: r &+ 7)
            r &+= 8
        }
        while r < m {
            var x = initial(r)
            for p in 0..<k { x = x.addingProduct(element(r, p), UnsafeRawPointer(panel + p &* w).loadUnaligned(as: Lanes.self)) }
            if r < whole { store(x, row: r) } else { for j in 0..<n { c[r &* n &+ j] = x[j] } }
            r &+= 1
        }
        finish.apply(to: c, at: 0, count: m &* n)
    }
}
