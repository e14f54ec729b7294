import Foundation
/// Gated attention as in TSMixer/TTM: y = x ⊙ softmax(x Wᵀ + b) over the last dimension.
public struct SoftmaxGate: Sendable {
    public let projection: Linear

    public init(_ name: String, features: Int, layout: inout ParameterLayout) {
        projection = Linear(name, in: features, out: features, layout: &layout)
    }

    public var features: Int { projection.inFeatures }

    /// `weights` receives s = softmax(x Wᵀ + b) [rows, features], kept for backward.
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int,
                        weights s: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        projection.forward(x, s, rows: rows, p)
        let d = features
        if d % 8 == 0 { return forwardInLanes(x, y, rows: rows, weights: s) }
        for r in 0..<rows {
            let sr = s + r * d, xr = x + r * d, yr = y + r * d
            let top = Reduce.max(sr, count: d)
            for f in 0..<d { sr[f] = VectorMath.exp(sr[f] - top) }
            let inv = 1 / Reduce.sum(sr, count: d)
            for f in 0..<d { sr[f] *= inv; yr[f] = xr[f] * sr[f] }
        }
    }

    /// The loop above for widths that are a multiple of 8, a row at a time in eight-lane vectors: the same
    /// maximum, the same sum order as `Reduce.sum` (lane i mod 8, then pairwise), the same exp per lane, so the
    /// same bits, without the per-loop set-up that dominated rows of 8-32 features.
    private func forwardInLanes(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int,
                                weights s: UnsafeMutablePointer<Float>) {
        let d = features, chunks = d / 8
        for r in 0..<rows {
            let sr = UnsafeMutableRawPointer(s + r * d), xr = UnsafeRawPointer(x + r * d), yr = UnsafeMutableRawPointer(y + r * d)
            var top = sr.loadUnaligned(as: SIMD8<Float>.self)
            for c in 1..<max(chunks, 1) { top = VectorMath.lanewiseMax(top, sr.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<Float>.self)) }
            let shift = SIMD8<Float>(repeating: Swift.max(Swift.max(Swift.max(top[0], top[4]), Swift.max(top[1], top[5])),
                                                          Swift.max(Swift.max(top[2], top[6]), Swift.max(top[3], top[7]))))
            var sum = SIMD8<Float>()
            for c in 0..<chunks {
                let e = VectorMath.exp(sr.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<Float>.self) - shift)
                sr.storeBytes(of: e, toByteOffset: 32 * c, as: SIMD8<Float>.self)
                sum += e
            }
            let inv = SIMD8<Float>(repeating: 1 / Reduce.total(sum))
            for c in 0..<chunks {
                let w = sr.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<Float>.self) * inv
                sr.storeBytes(of: w, toByteOffset: 32 * c, as: SIMD8<Float>.self)
                yr.storeBytes(of: xr.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<Float>.self) * w, toByteOffset: 32 * c, as: SIMD8<Float>.self)
            }
        }
    }

    /// dx += dy ⊙ s + (dlogits) W, with dlogits = s ⊙ (dy ⊙ x - Σ (dy ⊙ x ⊙ s)); `scratch` holds dlogits.
    public func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weights s: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, rows: Int, scratch: FloatBuffer, _ p: ParameterStore,
                         overwritingInput: Bool = false) {
        let d = features
        let dlogits = scratch.reserve(rows * d)
        for r in 0..<rows {
            let sr = s + r * d, xr = x + r * d, dyr = dy + r * d, dl = dlogits + r * d
            for f in 0..<d { dl[f] = dyr[f] * xr[f] }        // dy ⊙ x, then ⟨dy ⊙ x, s⟩
            let dot = Reduce.dot(dl, sr, count: d)
            for f in 0..<d { dl[f] = sr[f] * (dl[f] - dot) }
            if let dx {
                let dxr = dx + r * d
                if overwritingInput {
                    for f in 0..<d { dxr[f] = dyr[f] * sr[f] }
                } else {
                    for f in 0..<d { dxr[f] += dyr[f] * sr[f] }
                }
            }
        }
        projection.backward(dy: dlogits, x: x, dx: dx, rows: rows, p)
    }
}
