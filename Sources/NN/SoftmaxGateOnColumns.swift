/// The gate along the leading axis: x [features, columns], softmax over the features of each column. Eight
/// columns share a vector, so the max, exp and sums run across lanes with no horizontal reductions, however
/// short the gated axis (TTM's patch and channel mixers gate over 2-64 patches or channels).
extension SoftmaxGate {
    /// y = x ⊙ s with s = softmax over the leading axis of (W x + b); `weights` receives s [features, columns].
    public func forward(columns x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count columns: Int,
                        weights s: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        projection.forward(columns: x, s, count: columns, p)
        let k = features
        var c = 0
        while c + 8 <= columns {
            var top = loadLanes(s + c)
            for r in 1..<k { top = VectorMath.lanewiseMax(top, loadLanes(s + r * columns + c)) }
            var sum = SIMD8<Float>()
            for r in 0..<k {
                let e = VectorMath.exp(loadLanes(s + r * columns + c) - top)
                storeLanes(e, s + r * columns + c)
                sum += e
            }
            let inverse = 1 / sum
            for r in 0..<k {
                let at = r * columns + c, w = loadLanes(s + at) * inverse
                storeLanes(w, s + at)
                storeLanes(loadLanes(x + at) * w, y + at)
            }
            c += 8
        }
        for column in c..<columns {  // the same operations one lane at a time
            var top = s[column]
            for r in 1..<k { top = Swift.max(top, s[r * columns + column]) }
            var sum: Float = 0
            for r in 0..<k {
                let e = VectorMath.exp(s[r * columns + column] - top)
                s[r * columns + column] = e
                sum += e
            }
            let inverse = 1 / sum
            for r in 0..<k {
                let at = r * columns + column
                s[at] *= inverse
                y[at] = x[at] * s[at]
            }
        }
    }

    /// dx += dy ⊙ s + Wᵀ dlogits (dx = … with `overwritingInput`), dlogits = s ⊙ (dy ⊙ x - Σ_features dy ⊙ x ⊙ s)
    /// per column; `scratch` holds dlogits.
    public func backward(columns dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weights s: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, count columns: Int, scratch: FloatBuffer, _ p: ParameterStore,
                         overwritingInput: Bool = false) {
        let k = features
        let dlogits = scratch.reserve(k * columns)
        var c = 0
        while c + 8 <= columns {
            var dot = SIMD8<Float>()
            for r in 0..<k {
                let at = r * columns + c
                dot += loadLanes(dy + at) * loadLanes(x + at) * loadLanes(s + at)
            }
            for r in 0..<k {
                let at = r * columns + c, g = loadLanes(dy + at), w = loadLanes(s + at)
                storeLanes(w * (g * loadLanes(x + at) - dot), dlogits + at)
                if let dx { storeLanes(overwritingInput ? g * w : loadLanes(dx + at) + g * w, dx + at) }
            }
            c += 8
        }
        for column in c..<columns {
            var dot: Float = 0
            for r in 0..<k { let at = r * columns + column; dot += dy[at] * x[at] * s[at] }
            for r in 0..<k {
                let at = r * columns + column
                dlogits[at] = s[at] * (dy[at] * x[at] - dot)
                if let dx { dx[at] = overwritingInput ? dy[at] * s[at] : dx[at] + dy[at] * s[at] }
            }
        }
        projection.backward(columns: dlogits, x: x, dx: dx, count: columns, p)
    }
}
