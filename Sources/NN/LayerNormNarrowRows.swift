/// LayerNorm on rows of at most 15 features (TTM's finest adaptive-patching levels: 6 and 12 over 8k-16k rows),
/// eight rows at a time with one row per lane (`EightRows`). Each lane runs the per-row code's operations in its
/// order (the sums as `Reduce` adds a row; γ and β's gradients over the rows in the order the rows are
/// visited), so the bits are the same; a row by itself is mostly loop set-up and horizontal sums.
extension LayerNorm {
    /// The forward of rows r ..< r + 8, which move to rows t (the rows themselves without a swap). `values`
    /// holds 32 vectors.
    @inline(__always)
    func forwardEightNarrowRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, from r: Int,
                                to t: (Int, Int, Int, Int, Int, Int, Int, Int),
                                mean: UnsafeMutablePointer<Float>, inverseStd: UnsafeMutablePointer<Float>,
                                g: UnsafePointer<Float>, b: UnsafePointer<Float>, values: UnsafeMutablePointer<SIMD8<Float>>) {
        let d = features, count = SIMD8(repeating: Float(d))
        let sources = EightRows(first: r, width: d)
        let targets = EightRows(t, width: d), targetRows = EightRows(t, width: 1)
        for f in 0..<d { values[f] = sources.gather(x, f) }
        let mu = EightRows.rowSum(values, count: d) / count
        let squares = values + 16
        for f in 0..<d { let c = values[f] - mu; squares[f] = c * c }
        let inv = 1 / (EightRows.rowSum(squares, count: d) / count + SIMD8(repeating: epsilon)).squareRoot()
        targetRows.scatter(mu, mean, 0)
        targetRows.scatter(inv, inverseStd, 0)
        for f in 0..<d {
            let n = (values[f] - mu) * inv
            targets.scatter(SIMD8(repeating: g[f]) * n + SIMD8(repeating: b[f]), y, f)
        }
    }

    /// The backward of rows r ..< r + 8 of x, whose dy, μ and 1/σ are in rows t (the forward's targets).
    /// `scratch` holds 48 vectors.
    @inline(__always)
    func backwardEightNarrowRows(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, from r: Int,
                                 to t: (Int, Int, Int, Int, Int, Int, Int, Int),
                                 x: UnsafePointer<Float>, mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>,
                                 residual: UnsafePointer<Float>?, g: UnsafePointer<Float>, dg: UnsafeMutablePointer<Float>?,
                                 db: UnsafeMutablePointer<Float>?, scratch: UnsafeMutablePointer<SIMD8<Float>>) {
        let d = features, count = SIMD8(repeating: Float(d))
        let sources = EightRows(t, width: d), sourceRows = EightRows(t, width: 1), inputs = EightRows(first: r, width: d)
        let mu = sourceRows.gather(mean, 0), inv = sourceRows.gather(inverseStd, 0)
        let normalized = scratch, gradients = scratch + 16, terms = scratch + 32
        for f in 0..<d {
            normalized[f] = (inputs.gather(x, f) - mu) * inv
            gradients[f] = sources.gather(dy, f)
        }
        // γ and β's gradients add the rows in visit order, lane 0 first.
        if let dg { for f in 0..<d { Self.addLanes(gradients[f] * normalized[f], to: &dg[f]) } }
        if let db { for f in 0..<d { Self.addLanes(gradients[f], to: &db[f]) } }
        guard let dx else { return }
        for f in 0..<d { terms[f] = gradients[f] * SIMD8(repeating: g[f]) }
        let sumD = EightRows.rowSum(terms, count: d)                        // Σ dx̂ with dx̂ = γ dy
        for f in 0..<d { terms[f] = terms[f] * normalized[f] }
        let sumDX = EightRows.rowSum(terms, count: d)                       // Σ dx̂ x̂
        let scale = inv / count
        for f in 0..<d {
            let step = scale * (count * gradients[f] * SIMD8(repeating: g[f]) - sumD - normalized[f] * sumDX)
            inputs.scatter(residual.map { (SIMD8() + step) + inputs.gather($0, f) } ?? inputs.gather(dx, f) + step, dx, f)
        }
    }

    @inline(__always)
    private static func addLanes(_ v: SIMD8<Float>, to total: inout Float) {
        total += v[0]; total += v[1]; total += v[2]; total += v[3]; total += v[4]; total += v[5]; total += v[6]; total += v[7]
    }
}
