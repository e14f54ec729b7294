/// Layer normalisation over the last dimension (torch.nn.LayerNorm): y = γ x̂ + β, x̂ = (x - μ)/√(σ² + ε),
/// μ and the biased σ² per row.
public struct LayerNorm: Sendable {
    public let features: Int
    public let epsilon: Float
    public let weight: ParameterView
    public let bias: ParameterView

    public init(_ name: String, features: Int, epsilon: Float = 1e-5, layout: inout ParameterLayout) {
        self.features = features
        self.epsilon = epsilon
        weight = layout.add(name + ".weight", shape: [features])
        bias = layout.add(name + ".bias", shape: [features])
    }

    public func initialize(_ p: ParameterStore) {
        p.value(weight).update(repeating: 1, count: features)
        p.value(bias).update(repeating: 0, count: features)
    }

    /// `mean` and `inverseStd` receive μ and 1/σ [rows] for backward, which recomputes x̂ from x rather than
    /// have the forward write it out (a pass over the activations fewer). With `swapping`, y, μ and 1/σ come
    /// out with the two leading axes of x exchanged (rows [first, second, …] to [second, first, …]), which
    /// costs nothing here and spares the mixer after it a transpose.
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int,
                        mean: UnsafeMutablePointer<Float>, inverseStd: UnsafeMutablePointer<Float>,
                        swapping swap: LeadingSwap? = nil, _ p: ParameterStore) {
        let g = p.value(weight), b = p.value(bias)
        let d = Float(features)
        var targets = SwapTargets(swap, rows: rows)
        let narrowRows = features > EightRows.widestForward ? 0 : EightRows.forEachEight(rows) { r, values in
            // eight rows at a time, one per lane (LayerNormNarrowRows.swift)
            forwardEightNarrowRows(x, y, from: r, to: targets.nextEight(), mean: mean, inverseStd: inverseStd, g: g, b: b, values: values)
        }
        for r in narrowRows..<rows { forwardRow(r, targets.next()) }
        @inline(__always) func forwardRow(_ r: Int, _ target: Int) {
            let xr = x + r * features, yr = y + target * features
            let mu = Reduce.sum(xr, count: features) / d
            let inv = 1 / (Reduce.sumOfSquares(xr, count: features, around: mu) / d + epsilon).squareRoot()
            mean[target] = mu
            inverseStd[target] = inv
            // Whole groups of eight as vectors (the vectoriser's alias checks cost as much as a short row).
            let center = SIMD8(repeating: mu), scale = SIMD8(repeating: inv)
            var f = 0
            while f &+ 8 <= features {
                let n = (loadLanes(xr + f) - center) * scale
                storeLanes(loadLanes(g + f) * n + loadLanes(b + f), yr + f)
                f &+= 8
            }
            while f < features {
                let n = (xr[f] - mu) * inv
                yr[f] = g[f] * n + b[f]
                f &+= 1
            }
        }
    }

    /// dγ += Σ_rows dy x̂;  dβ += Σ_rows dy;  dx += (1/σ)/D · (D dx̂ - Σ dx̂ - x̂ Σ dx̂ x̂) per row, dx̂ = γ dy,
    /// for the x of the forward that wrote `mean` and `inverseStd` (x̂ is recomputed from them, with the
    /// forward's operations, so it has the forward's bits). With `swapping`, dy, μ and 1/σ are in the forward's
    /// swapped layout and x and dx in x's. `scratch` holds one row of x̂. With `residual` (x's layout), dx is
    /// written, not added to: dx = (0 + the norm's gradient) + residual, the bits of adding the gradient to a
    /// zeroed dx and the residual after it, without the zeroing pass and the second one.
    public func backward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, rows: Int, x: UnsafePointer<Float>,
                         mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, swapping swap: LeadingSwap? = nil,
                         residual: UnsafePointer<Float>? = nil, scratch: FloatBuffer, _ p: ParameterStore) {
        let g = p.value(weight)
        let dg = p.gradientIfNeeded(weight)
        let db = p.gradientIfNeeded(bias)
        let d = Float(features)
        let nr = scratch.reserve(features)
        var sources = SwapTargets(swap, rows: rows)
        let narrowRows = features > EightRows.widestBackward ? 0 : EightRows.forEachEight(rows) { r, lanes in
            backwardEightNarrowRows(dy: dy, dx: dx, from: r, to: sources.nextEight(), x: x, mean: mean, inverseStd: inverseStd,
                                    residual: residual, g: g, dg: dg, db: db, scratch: lanes)
        }
        for r in narrowRows..<rows { backwardRow(r, sources.next()) }
        @inline(__always) func backwardRow(_ r: Int, _ source: Int) {
            let dyr = dy + source * features, xr = x + r * features, mu = mean[source], inv = inverseStd[source]
            // One pass for x̂ (kept for the dx pass), γ's and β's gradients and the two sums, each sum in
            // Reduce.dot's order (lanes i mod 8, then pairwise, then the tail), each product as it forms it.
            let center = SIMD8(repeating: mu), scale8 = SIMD8(repeating: inv)
            var lanesD = SIMD8<Float>(), lanesDX = SIMD8<Float>()
            var f = 0
            while f &+ 8 <= features {
                let n = (loadLanes(xr + f) - center) * scale8, dyv = loadLanes(dyr + f)
                storeLanes(n, nr + f)
                if let dg { storeLanes(loadLanes(dg + f) + dyv * n, dg + f) }
                if let db { storeLanes(loadLanes(db + f) + dyv, db + f) }
                let term = dyv * loadLanes(g + f)                                // dx̂ = γ dy
                lanesD += term
                lanesDX += term * n
                f &+= 8
            }
            var tailD: Float = 0, tailDX: Float = 0
            while f < features {
                let n = (xr[f] - mu) * inv, dyf = dyr[f]
                nr[f] = n
                if let dg { dg[f] += dyf * n }
                if let db { db[f] += dyf }
                let term = dyf * g[f]
                tailD += term
                tailDX += term * n
                f &+= 1
            }
            guard let dx else { return }
            let sumD = Reduce.total(lanesD) + tailD                             // Σ dx̂
            let sumDX = Reduce.total(lanesDX) + tailDX                          // Σ dx̂ x̂
            let scale = inv / d
            let dxr = dx + r * features, rr = residual.map { $0 + r * features }
            let scaleV = SIMD8(repeating: scale), dV = SIMD8(repeating: d), sumDV = SIMD8(repeating: sumD), sumDXV = SIMD8(repeating: sumDX)
            f = 0
            while f &+ 8 <= features {
                let step = scaleV * (dV * loadLanes(dyr + f) * loadLanes(g + f) - sumDV - loadLanes(nr + f) * sumDXV)
                storeLanes(rr.map { (SIMD8() + step) + loadLanes($0 + f) } ?? loadLanes(dxr + f) + step, dxr + f)
                f &+= 8
            }
            while f < features {
                let step = scale * (d * dyr[f] * g[f] - sumD - nr[f] * sumDX)
                dxr[f] = rr.map { (0 + step) + $0[f] } ?? dxr[f] + step
                f &+= 1
            }
        }
    }
}
