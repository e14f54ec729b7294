import Kernels
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
        while c + 32 <= columns {
            var t0 = loadLanes(s + c), t1 = loadLanes(s + c + 8), t2 = loadLanes(s + c + 16), t3 = loadLanes(s + c + 24)
            for r in 1..<k {
                let at = s + r * columns + c
                t0 = VectorMath.lanewiseMax(t0, loadLanes(at)); t1 = VectorMath.lanewiseMax(t1, loadLanes(at + 8))
                t2 = VectorMath.lanewiseMax(t2, loadLanes(at + 16)); t3 = VectorMath.lanewiseMax(t3, loadLanes(at + 24))
            }
            var s0 = SIMD8<Float>(), s1 = SIMD8<Float>(), s2 = SIMD8<Float>(), s3 = SIMD8<Float>()
            for r in 0..<k {
                let at = s + r * columns + c
                let e0 = VectorMath.exp(loadLanes(at) - t0), e1 = VectorMath.exp(loadLanes(at + 8) - t1)
                let e2 = VectorMath.exp(loadLanes(at + 16) - t2), e3 = VectorMath.exp(loadLanes(at + 24) - t3)
                storeLanes(e0, at); storeLanes(e1, at + 8); storeLanes(e2, at + 16); storeLanes(e3, at + 24)
                s0 += e0; s1 += e1; s2 += e2; s3 += e3
            }
            let i0 = 1 / s0, i1 = 1 / s1, i2 = 1 / s2, i3 = 1 / s3
            for r in 0..<k {
                let at = r * columns + c
                let w0 = loadLanes(s + at) * i0, w1 = loadLanes(s + at + 8) * i1, w2 = loadLanes(s + at + 16) * i2, w3 = loadLanes(s + at + 24) * i3
                storeLanes(w0, s + at); storeLanes(w1, s + at + 8); storeLanes(w2, s + at + 16); storeLanes(w3, s + at + 24)
                storeLanes(loadLanes(x + at) * w0, y + at); storeLanes(loadLanes(x + at + 8) * w1, y + at + 8)
                storeLanes(loadLanes(x + at + 16) * w2, y + at + 16); storeLanes(loadLanes(x + at + 24) * w3, y + at + 24)
            }
            c += 32
        }
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
        while c + 32 <= columns {
            var d0 = SIMD8<Float>(), d1 = SIMD8<Float>(), d2 = SIMD8<Float>(), d3 = SIMD8<Float>()
            for r in 0..<k {
                let at = r * columns + c
                d0 += loadLanes(dy + at) * loadLanes(x + at) * loadLanes(s + at)
                d1 += loadLanes(dy + at + 8) * loadLanes(x + at + 8) * loadLanes(s + at + 8)
                d2 += loadLanes(dy + at + 16) * loadLanes(x + at + 16) * loadLanes(s + at + 16)
                d3 += loadLanes(dy + at + 24) * loadLanes(x + at + 24) * loadLanes(s + at + 24)
            }
            @inline(__always) func gradients(_ at: Int, _ dot: SIMD8<Float>) {
                let g = loadLanes(dy + at), w = loadLanes(s + at)
                storeLanes(w * (g * loadLanes(x + at) - dot), dlogits + at)
                if let dx { storeLanes(overwritingInput ? g * w : loadLanes(dx + at) + g * w, dx + at) }
            }
            for r in 0..<k {
                let at = r * columns + c
                gradients(at, d0); gradients(at + 8, d1); gradients(at + 16, d2); gradients(at + 24, d3)
            }
            c += 32
        }
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
