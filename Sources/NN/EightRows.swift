/// Eight rows of a matrix, one per SIMD lane: element f of each row gathered into a vector, or a vector
/// scattered back. For layers whose rows are too narrow for vectors along the row (TTM's finest adaptive-
/// patching levels have 6 and 12 features over 8k-16k rows): eight rows then run the per-row code's operations
/// at once, lane by lane, with the per-row code's bits.
struct EightRows {
    /// Where each row starts, in floats from the matrix's start.
    let r0, r1, r2, r3, r4, r5, r6, r7: Int

    /// Rows `first` ..< `first` + 8 of rows `width` floats apart.
    @inline(__always)
    init(first: Int, width: Int) {
        r0 = first * width; r1 = r0 + width; r2 = r1 + width; r3 = r2 + width
        r4 = r3 + width; r5 = r4 + width; r6 = r5 + width; r7 = r6 + width
    }

    /// The rows with these eight indices, rows `width` floats apart.
    @inline(__always)
    init(_ i: (Int, Int, Int, Int, Int, Int, Int, Int), width: Int) {
        r0 = i.0 * width; r1 = i.1 * width; r2 = i.2 * width; r3 = i.3 * width
        r4 = i.4 * width; r5 = i.5 * width; r6 = i.6 * width; r7 = i.7 * width
    }

    @inline(__always)
    func gather(_ p: UnsafePointer<Float>, _ f: Int) -> SIMD8<Float> {
        SIMD8(p[r0 + f], p[r1 + f], p[r2 + f], p[r3 + f], p[r4 + f], p[r5 + f], p[r6 + f], p[r7 + f])
    }

    @inline(__always)
    func gather(_ p: UnsafeMutablePointer<Float>, _ f: Int) -> SIMD8<Float> { gather(UnsafePointer(p), f) }

    /// Lane i to element f of row i.
    @inline(__always)
    func scatter(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>, _ f: Int) {
        p[r0 + f] = v[0]; p[r1 + f] = v[1]; p[r2 + f] = v[2]; p[r3 + f] = v[3]
        p[r4 + f] = v[4]; p[r5 + f] = v[5]; p[r6 + f] = v[6]; p[r7 + f] = v[7]
    }

    /// Σ over v[0 ..< count] lane by lane, as `Reduce.sum` adds a row of `count` ≥ 0 values: a whole group of
    /// eight (count ≥ 8, at most one group) added to zero and then pairwise, plus the rest one by one from zero.
    @inline(__always)
    static func rowSum(_ v: UnsafePointer<SIMD8<Float>>, count: Int) -> SIMD8<Float> {
        var group = SIMD8<Float>()
        if count >= 8 {
            @inline(__always) func lane(_ j: Int) -> SIMD8<Float> { SIMD8() + v[j] }
            group = ((lane(0) + lane(4)) + (lane(1) + lane(5))) + ((lane(2) + lane(6)) + (lane(3) + lane(7)))
        }
        var rest = SIMD8<Float>()
        for f in (count >= 8 ? 8 : 0)..<count { rest += v[f] }
        return group + rest
    }

    /// Calls `body(r, scratch)` for r = 0, 8, 16, … while eight rows remain, `scratch` holding 64 vectors on
    /// the stack; returns how many rows it covered (the per-row code takes the rest).
    @inline(__always)
    static func forEachEight(_ rows: Int, _ body: (Int, UnsafeMutablePointer<SIMD8<Float>>) -> Void) -> Int {
        let covered = rows & ~7
        var scratch = InlineArray<64, SIMD8<Float>>(repeating: .zero)
        var span = scratch.mutableSpan
        span.withUnsafeMutableBufferPointer { buffer in
            for r in stride(from: 0, to: covered, by: 8) { body(r, buffer.baseAddress!) }
        }
        return covered
    }

    /// The widest rows a forward takes this path for: `rowSum` adds up one whole group of eight and a tail.
    static let widestForward = 15
    /// The widest rows a backward takes this path for. A backward gathers three or four inputs per feature and
    /// scatters two outputs; with 12 features the per-row code (one vector and a tail of four) was faster
    /// (8,192 rows, AVX-512 machine: LayerNorm 311 against 363 us, the gate 544 against 592 us); with 6 the
    /// lanes win (16,384 rows: LayerNorm 404 against 230 us, the gate 556 against 474 us).
    static let widestBackward = 7
}
