import Kernels

/// The row gate on rows narrower than two vectors (TTM's finest adaptive-patching levels gate 6 and 12 features
/// per row, over 8k-16k rows), eight rows at a time with one row per lane (`EightRows`). Row by row, such a row
/// is all set-up, a horizontal reduction and scalar exps. Each lane runs the per-row code's operations in the
/// per-row order, so the bits are the same: the maximum over a whole group of eight (lanes against the first
/// element, then pairwise) and then the tail; the exps summed as `Reduce.sum` would; the backward's dot
/// product as `Reduce.dot` does.
extension SoftmaxGate {
    /// y = x ⊙ s for rows 0 ..< 8 of `d` ≤ 15 features, s holding the logits on entry and the weights on exit.
    /// `exps` holds 16 vectors.
    @inline(__always)
    static func forwardEightNarrowRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ s: UnsafeMutablePointer<Float>,
                                       adding residual: UnsafePointer<Float>?, features d: Int,
                                       exps: UnsafeMutablePointer<SIMD8<Float>>) {
        let rows = EightRows(first: 0, width: d)
        let first = rows.gather(s, 0)
        var top = first
        if d >= 8 {
            @inline(__always) func lane(_ j: Int) -> SIMD8<Float> { VectorMath.lanewiseMax(first, rows.gather(s, j)) }
            top = VectorMath.lanewiseMax(VectorMath.lanewiseMax(VectorMath.lanewiseMax(lane(0), lane(4)), VectorMath.lanewiseMax(lane(1), lane(5))),
                                         VectorMath.lanewiseMax(VectorMath.lanewiseMax(lane(2), lane(6)), VectorMath.lanewiseMax(lane(3), lane(7))))
        }
        for f in (d >= 8 ? 8 : 0)..<d { top = VectorMath.lanewiseMax(top, rows.gather(s, f)) }
        for f in 0..<d { exps[f] = VectorMath.exp(rows.gather(s, f) - top) }
        let inverse = 1 / EightRows.rowSum(exps, count: d)
        for f in 0..<d {
            let w = exps[f] * inverse, gated = rows.gather(x, f) * w
            rows.scatter(w, s, f)
            rows.scatter(residual.map { rows.gather($0, f) + gated } ?? gated, y, f)
        }
    }

    /// dlogits = s ⊙ (dy ⊙ x - ⟨dy ⊙ x, s⟩) and dx (+)= dy ⊙ s for rows 0 ..< 8 of `d` ≤ 15 features.
    /// `scratch` holds 64 vectors.
    @inline(__always)
    static func backwardEightNarrowRows(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, s: UnsafePointer<Float>,
                                        dlogits: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, overwritingInput: Bool,
                                        features d: Int, scratch: UnsafeMutablePointer<SIMD8<Float>>) {
        let rows = EightRows(first: 0, width: d)
        let products = scratch, weights = scratch + 16, gradients = scratch + 32, terms = scratch + 48
        for f in 0..<d {
            gradients[f] = rows.gather(dy, f)
            weights[f] = rows.gather(s, f)
            products[f] = gradients[f] * rows.gather(x, f)
            terms[f] = products[f] * weights[f]
        }
        let dot = EightRows.rowSum(terms, count: d)
        for f in 0..<d {
            let w = weights[f], g = gradients[f]
            rows.scatter(w * (products[f] - dot), dlogits, f)
            if let dx { rows.scatter(overwritingInput ? g * w : rows.gather(dx, f) + g * w, dx, f) }
        }
    }
}
