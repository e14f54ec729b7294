import Kernels
/// The gate along the leading axis: x [features, columns], softmax over the features of each column. Each
/// column's reductions run down the rows in vector lanes, with no horizontal sums, however short the gated axis
/// (TTM's patch and channel mixers gate over 2-256 patches or channels). Per column the operations and their
/// order are those of a plain loop down the rows.
///
/// The forward takes blocks of 32 (then 8) columns down all the rows. The backward goes a row at a time across
/// chunks of up to 1,024 columns, whose running sums wait on the stack: the column counts are 64 windows x d,
/// so k rows of a block lie a multiple of 4 KB apart, share a few L1 sets and evict each other between the
/// backward's two passes (row by row: the seed default's gate backward 2.9% -> 1.9% of a pretraining step, the
/// reference's 2.2% -> 1.7%; the forward, whose rows are fewer where it matters, measured slower that way).
extension SoftmaxGate {
    /// Columns per chunk of the backward: a stack buffer of this many floats.
    static let columnChunk = 1024

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
        var stack = InlineArray<1024, Float>(repeating: 0)
        var span = stack.mutableSpan
        span.withUnsafeMutableBufferPointer { buffer in
            let dots = buffer.baseAddress!
            for first in stride(from: 0, to: columns, by: Self.columnChunk) {
                let n = Swift.min(Self.columnChunk, columns - first)
                dots.update(repeating: 0, count: n)                   // Σ_rows dy ⊙ x ⊙ s, row by row
                for r in 0..<k {
                    let at = r * columns + first
                    Self.forEachLane(n) { c in
                        storeLanes(loadLanes(dots + c) + loadLanes(dy + at + c) * loadLanes(x + at + c) * loadLanes(s + at + c), dots + c)
                    } tail: { c in dots[c] += dy[at + c] * x[at + c] * s[at + c] }
                }
                for r in 0..<k {
                    let at = r * columns + first
                    Self.forEachLane(n) { c in
                        let g = loadLanes(dy + at + c), w = loadLanes(s + at + c)
                        storeLanes(w * (g * loadLanes(x + at + c) - loadLanes(dots + c)), dlogits + at + c)
                        if let dx { storeLanes(overwritingInput ? g * w : loadLanes(dx + at + c) + g * w, dx + at + c) }
                    } tail: { c in
                        dlogits[at + c] = s[at + c] * (dy[at + c] * x[at + c] - dots[c])
                        if let dx { dx[at + c] = overwritingInput ? dy[at + c] * s[at + c] : dx[at + c] + dy[at + c] * s[at + c] }
                    }
                }
            }
        }
        projection.backward(columns: dlogits, x: x, dx: dx, count: columns, p)
    }

    /// `vector(c)` for c = 0, 8, … while eight columns remain, then `tail(c)` for each column left.
    @inline(__always)
    private static func forEachLane(_ n: Int, _ vector: (Int) -> Void, tail: (Int) -> Void) {
        var c = 0
        while c &+ 8 <= n { vector(c); c &+= 8 }
        while c < n { tail(c); c &+= 1 }
    }
}
