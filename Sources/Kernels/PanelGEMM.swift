/// The engine's own single-threaded GEMM: C[m, n] = start + op(A)[m, k] · op(B)[k, n], where start is C itself,
/// a bias per row or per column of C, or zero. A's element (r, p) is at a[r·aRow + p·aColumn] and B's (p, j) at
/// b[p·bRow + j·bColumn], so a transposed operand is only other strides; C is row-major with rows `ldc` apart.
///
/// Why not OpenBLAS: on TTM's shapes (512-2048 rows, 48-384 columns, depth 48-2048) OpenBLAS packs both operands
/// and zeroes C for every call, and inside a training step, where the operands come from L3, that overhead took
/// a fifth of its time. Here only B is copied, one panel of columns by depth block at a time, into a contiguous
/// stack buffer that stays in L1; A is read in place (six rows at a time, each row a sequential stream, or six
/// neighbouring elements when A is transposed) and C is written once per depth block.
///
/// Every element of C is its start plus A's products added in order of p, one fused multiply-add each (a depth
/// block stores its sums and the next one loads them back exactly), so the bits do not depend on the vector
/// width, the tile an element falls in, or the build.
public enum PanelGEMM {
    /// What C holds before the products are added.
    public enum Start {
        case zero, accumulate
        /// bias[r] for every element of row r.
        case rowBias(UnsafePointer<Float>)
        /// bias[j] for every element of column j.
        case columnBias(UnsafePointer<Float>)
    }

    /// What becomes of C's elements after their last product: nothing, or the dropout mask given by its keep flags
    /// (then an elementwise factor), both laid out like C. Done tile by tile while the tile is in L1, with
    /// `Elementwise.multiply`'s products, so the bits are those of that pass run over C afterwards.
    public enum Finish {
        case none
        case masked(keep: UnsafePointer<UInt8>, scale: Float, factor: UnsafePointer<Float>?)

        /// The finish on c[offset ..< offset + count], its operands read at the same offset.
        @inlinable @inline(__always)
        public func apply(to c: UnsafeMutablePointer<Float>, at offset: Int, count: Int) {
            guard case .masked(let keep, let scale, let factor) = self else { return }
            let row = c + offset
            if let factor {
                Elementwise.multiply(row, keeping: keep + offset, scale: scale, factor + offset, into: row, count: count)
            } else {
                Elementwise.multiply(row, keeping: keep + offset, scale: scale, into: row, count: count)
            }
        }

        /// The finish of the part of C that starts `offset` elements in.
        @inlinable
        public func advanced(by offset: Int) -> Finish {
            guard case .masked(let keep, let scale, let factor) = self else { return self }
            return .masked(keep: keep + offset, scale: scale, factor: factor.map { $0 + offset })
        }
    }

    /// The stack buffer for one panel of B: `depthBlock · width` floats.
    public static let panelFloats = 8192

    /// Tiles of six rows by up to `maxVectors` vectors of `Lanes` columns (24 accumulators at four sixteen-lane
    /// vectors, 12 at two eight-lane ones: what the register file holds beside B's vectors and A's broadcast).
    /// Panels take as many whole vectors as fit, then one zero-padded vector for a ragged end.
    @inlinable @inline(__always)
    public static func multiply<Lanes: SIMD>(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                             b: UnsafePointer<Float>, bRow: Int, bColumn: Int,
                                             c: UnsafeMutablePointer<Float>, ldc: Int, start: Start, finish: Finish,
                                             lanes: Lanes.Type, maxVectors: Int) where Lanes.Scalar == Float {
        guard m > 0 && n > 0 else { return }
        let lanes = Lanes.scalarCount
        precondition(maxVectors * lanes <= 64 && maxVectors <= 4, "PanelGEMM: tiles are at most 64 columns, four vectors")
        var panelStorage = InlineArray<8192, Float>(repeating: 0)
        var tileStorage = InlineArray<384, Float>(repeating: 0)  // 6 rows × 64 columns at most
        var panelSpan = panelStorage.mutableSpan, tileSpan = tileStorage.mutableSpan
        panelSpan.withUnsafeMutableBufferPointer { panelBuffer in tileSpan.withUnsafeMutableBufferPointer { tileBuffer in
            let panel = panelBuffer.baseAddress!, scratch = tileBuffer.baseAddress!
            if takesNarrow(m: m, n: n, k: k, ldc: ldc, start: start, lanes: lanes) {
                narrow(m: m, n: n, k: k, a: a, aRow: aRow, aColumn: aColumn, b: b, bRow: bRow, bColumn: bColumn, c: c,
                       start: start, finish: finish, panel: panel, lanes: Lanes.self)
                return
            }
            if takesDeepNarrow(m: m, n: n, k: k, bRow: bRow, bColumn: bColumn, finish: finish, lanes: lanes) {
                deepNarrow(m: m, n: n, k: k, a: a, aRow: aRow, aColumn: aColumn, b: b, bRow: bRow, c: c, ldc: ldc, start: start,
                           staging: panel, lanes: Lanes.self)
                return
            }
            var j0 = 0
            while j0 < n {
                // A panel holds as many whole tiles as fit in 64 columns: one of four sixteen-lane vectors, or four
                // of two eight-lane ones. Eight-lane panels of one tile (16 columns, a single cache line per row of B)
                // made each copy a walk down B's rows and read A four times as often: 11% slower with cold caches.
                let vectors = Swift.max(1, Swift.min(maxVectors, (n &- j0) / lanes)), tileWidth = vectors &* lanes
                let tiles = Swift.max(1, Swift.min(64 / tileWidth, (n &- j0) / tileWidth))
                let width = tiles &* tileWidth, columns = Swift.min(width, n &- j0)
                let depthBlock = panelFloats / width
                var p0 = 0
                repeat {
                    let depth = Swift.min(depthBlock, k &- p0)
                    packPanel(b: b + (p0 &* bRow &+ j0 &* bColumn), bRow: bRow, bColumn: bColumn, depth: depth, columns: columns,
                              width: width, into: panel)
                    var r0 = 0
                    while r0 < m {
                        let rows = Swift.min(6, m &- r0)
                        let inPlace = rows == 6 && columns == width
                        let out = inPlace ? c + (r0 &* ldc &+ j0) : scratch, outRow = inPlace ? ldc : width
                        // Where this block starts: the sums so far (C, or the previous block's), the bias, or zero.
                        var loads = true
                        switch p0 > 0 ? .accumulate : start {
                        case .accumulate:
                            if !inPlace {
                                for i in 0..<rows { for j in 0..<columns { scratch[i &* width &+ j] = c[(r0 &+ i) &* ldc &+ j0 &+ j] } }
                            }
                        case .rowBias(let bias):
                            for i in 0..<rows { for j in 0..<columns { out[i &* outRow &+ j] = bias[r0 &+ i] } }
                        case .columnBias(let bias):
                            for i in 0..<rows { for j in 0..<columns { out[i &* outRow &+ j] = bias[j0 &+ j] } }
                        case .zero:
                            loads = false
                        }
                        // Past the last row, the tile repeats the last row of A (its results are not stored).
                        let rowA = a + p0 &* aColumn
                        @inline(__always) func row(_ i: Int) -> UnsafePointer<Float> { rowA + (r0 &+ Swift.min(i, rows &- 1)) &* aRow }
                        let first = (row(0), row(1), row(2), row(3), row(4), row(5))
                        for t in 0..<tiles {
                            let part = panel + t &* tileWidth, partOut = out + t &* tileWidth
                            switch vectors {
                            case 4: tile(first, aColumn: aColumn, panel: part, panelRow: width, depth: depth, out: partOut, outRow: outRow,
                                         loads: loads, vectors: FixedCounts.Four.self, lanes: Lanes.self)
                            case 3: tile(first, aColumn: aColumn, panel: part, panelRow: width, depth: depth, out: partOut, outRow: outRow,
                                         loads: loads, vectors: FixedCounts.Three.self, lanes: Lanes.self)
                            case 2: tile(first, aColumn: aColumn, panel: part, panelRow: width, depth: depth, out: partOut, outRow: outRow,
                                         loads: loads, vectors: FixedCounts.Two.self, lanes: Lanes.self)
                            default: tile(first, aColumn: aColumn, panel: part, panelRow: width, depth: depth, out: partOut, outRow: outRow,
                                          loads: loads, vectors: FixedCounts.One.self, lanes: Lanes.self)
                            }
                        }
                        if !inPlace {
                            for i in 0..<rows { for j in 0..<columns { c[(r0 &+ i) &* ldc &+ j0 &+ j] = scratch[i &* width &+ j] } }
                        }
                        if p0 &+ depth >= k {
                            for i in 0..<rows { finish.apply(to: c, at: (r0 &+ i) &* ldc &+ j0, count: columns) }
                        }
                        r0 &+= 6
                    }
                    p0 &+= depth
                } while p0 < k
                j0 &+= columns
            }
        } }
    }

    /// panel[p·width + j] = B's (p, j) for j < columns, zero up to `width`.
    @inlinable @inline(__always)
    static func packPanel(b: UnsafePointer<Float>, bRow: Int, bColumn: Int, depth: Int, columns: Int, width: Int,
                          into panel: UnsafeMutablePointer<Float>) {
        if bColumn == 1 {
            // Up to eight eight-float vectors per row, written out without a loop: as a loop (plain or by vectors)
            // LLVM turned each row of the panel into a memcpy call, 3% of a pretraining step.
            let vectors = columns >> 3
            @inline(__always) func copy(_ v: Int, _ from: UnsafePointer<Float>, _ to: UnsafeMutablePointer<Float>) {
                guard v < vectors else { return }
                UnsafeMutableRawPointer(to + v &* 8).storeBytes(of: UnsafeRawPointer(from + v &* 8).loadUnaligned(as: SIMD8<Float>.self),
                                                                as: SIMD8<Float>.self)
            }
            for p in 0..<depth {
                let from = b + p &* bRow, to = panel + p &* width
                copy(0, from, to); copy(1, from, to); copy(2, from, to); copy(3, from, to)
                copy(4, from, to); copy(5, from, to); copy(6, from, to); copy(7, from, to)
                for j in (vectors &* 8)..<columns { to[j] = from[j] }
            }
        } else {  // B transposed: eight of its rows (eight panel columns) at a time, each read along p
            var j = 0
            while j &+ 8 <= columns {
                let r = b + j &* bColumn
                let r0 = r, r1 = r0 + bColumn, r2 = r1 + bColumn, r3 = r2 + bColumn
                let r4 = r3 + bColumn, r5 = r4 + bColumn, r6 = r5 + bColumn, r7 = r6 + bColumn
                var to = panel + j, offset = 0
                for _ in 0..<depth {
                    let v = SIMD8<Float>(r0[offset], r1[offset], r2[offset], r3[offset], r4[offset], r5[offset], r6[offset], r7[offset])
                    UnsafeMutableRawPointer(to).storeBytes(of: v, as: SIMD8<Float>.self)
                    to += width; offset &+= bRow
                }
                j &+= 8
            }
            for j in j..<columns {
                let from = b + j &* bColumn
                for p in 0..<depth { panel[p &* width &+ j] = from[p &* bRow] }
            }
        }
        if columns < width {
            for p in 0..<depth { for j in columns..<width { panel[p &* width &+ j] = 0 } }
        }
    }

    /// out[i, 0 ..< vectors·lanes] (+)= Σ_p A(i, p) · panel[p], six rows: each step loads `vectors` vectors of the
    /// panel (rows `panelRow` apart) and broadcasts one element of each row of A. The vector count is a type, so that each specialisation
    /// has it as a constant and the unused accumulators and their branches compile away even where LLVM does not
    /// inline the tile (it did not, and a run-time count left the loop branching).
    @inlinable @inline(__always)
    static func tile<Lanes: SIMD, Vectors: FixedCount>(_ a: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                       UnsafePointer<Float>, UnsafePointer<Float>),
                                  aColumn: Int, panel: UnsafePointer<Float>, panelRow: Int, depth: Int, out: UnsafeMutablePointer<Float>, outRow: Int,
                                  loads: Bool, vectors _: Vectors.Type, lanes: Lanes.Type) where Lanes.Scalar == Float {
        let vectors = Vectors.count, w = Lanes.scalarCount
        @inline(__always) func load(_ p: UnsafePointer<Float>) -> Lanes { UnsafeRawPointer(p).loadUnaligned(as: Lanes.self) }
        @inline(__always) func initial(_ i: Int, _ v: Int) -> Lanes {
            loads && v < vectors ? load(out + (i &* outRow &+ v &* w)) : Lanes()
        }
        var c00 = initial(0, 0), c01 = initial(0, 1), c02 = initial(0, 2), c03 = initial(0, 3)
        var c10 = initial(1, 0), c11 = initial(1, 1), c12 = initial(1, 2), c13 = initial(1, 3)
        var c20 = initial(2, 0), c21 = initial(2, 1), c22 = initial(2, 2), c23 = initial(2, 3)
        var c30 = initial(3, 0), c31 = initial(3, 1), c32 = initial(3, 2), c33 = initial(3, 3)
        var c40 = initial(4, 0), c41 = initial(4, 1), c42 = initial(4, 2), c43 = initial(4, 3)
        var c50 = initial(5, 0), c51 = initial(5, 1), c52 = initial(5, 2), c53 = initial(5, 3)
        var b = panel, offset = 0
        for _ in 0..<depth {
            let b0 = load(b), b1 = vectors > 1 ? load(b + w) : Lanes()
            let b2 = vectors > 2 ? load(b + 2 &* w) : Lanes(), b3 = vectors > 3 ? load(b + 3 &* w) : Lanes()
            @inline(__always) func step(_ s: Lanes, _ x0: inout Lanes, _ x1: inout Lanes, _ x2: inout Lanes, _ x3: inout Lanes) {
                x0 = x0.addingProduct(s, b0)
                if vectors > 1 { x1 = x1.addingProduct(s, b1) }
                if vectors > 2 { x2 = x2.addingProduct(s, b2) }
                if vectors > 3 { x3 = x3.addingProduct(s, b3) }
            }
            step(Lanes(repeating: a.0[offset]), &c00, &c01, &c02, &c03)
            step(Lanes(repeating: a.1[offset]), &c10, &c11, &c12, &c13)
            step(Lanes(repeating: a.2[offset]), &c20, &c21, &c22, &c23)
            step(Lanes(repeating: a.3[offset]), &c30, &c31, &c32, &c33)
            step(Lanes(repeating: a.4[offset]), &c40, &c41, &c42, &c43)
            step(Lanes(repeating: a.5[offset]), &c50, &c51, &c52, &c53)
            b += panelRow; offset &+= aColumn
        }
        @inline(__always) func store(_ i: Int, _ x0: Lanes, _ x1: Lanes, _ x2: Lanes, _ x3: Lanes) {
            let row = UnsafeMutableRawPointer(out + i &* outRow)
            row.storeBytes(of: x0, as: Lanes.self)
            if vectors > 1 { row.storeBytes(of: x1, toByteOffset: w &* 4, as: Lanes.self) }
            if vectors > 2 { row.storeBytes(of: x2, toByteOffset: 2 &* w &* 4, as: Lanes.self) }
            if vectors > 3 { row.storeBytes(of: x3, toByteOffset: 3 &* w &* 4, as: Lanes.self) }
        }
        store(0, c00, c01, c02, c03); store(1, c10, c11, c12, c13); store(2, c20, c21, c22, c23)
        store(3, c30, c31, c32, c33); store(4, c40, c41, c42, c43); store(5, c50, c51, c52, c53)
    }
}

/// A small count fixed at compile time, so that code specialised for it has the count as a constant: how many
/// vectors a `PanelGEMM` tile row holds, how many rows a `ColumnBlocks` block takes.
public protocol FixedCount { static var count: Int { get } }

public enum FixedCounts {
    public enum One: FixedCount { public static var count: Int { 1 } }
    public enum Two: FixedCount { public static var count: Int { 2 } }
    public enum Three: FixedCount { public static var count: Int { 3 } }
    public enum Four: FixedCount { public static var count: Int { 4 } }
}

extension PanelGEMM.Start {
    /// The start of the part of C from row `rows` and column `columns` on.
    @inlinable
    public func advanced(rows: Int, columns: Int) -> PanelGEMM.Start {
        switch self {
        case .rowBias(let bias): .rowBias(bias + rows)
        case .columnBias(let bias): .columnBias(bias + columns)
        case .zero, .accumulate: self
        }
    }
}
