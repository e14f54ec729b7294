import Kernels
import Foundation
/// Gated attention as in TSMixer/TTM: y = x ⊙ softmax(x Wᵀ + b) over the last dimension.
public struct SoftmaxGate: Sendable {
    public let projection: Linear

    public init(_ name: String, features: Int, layout: inout ParameterLayout) {
        projection = Linear(name, in: features, out: features, layout: &layout)
    }

    public var features: Int { projection.inFeatures }

    /// `weights` receives s = softmax(x Wᵀ + b) [rows, features], kept for backward.
    ///
    /// A row at a time, its whole multiples of 8 in eight-lane vectors and the rest one by one, in the order of
    /// `Reduce.max` / `Reduce.sum` (lane i mod 8, the lanes pairwise, then the tail) and with `VectorMath.exp`, so the
    /// bits are those of a plain loop over those helpers; the vectors spare the per-loop set-up that dominated the
    /// gates' short rows (8-32 patches). Rows of at most 15 features go eight at a time, one per lane, with the
    /// same bits (SoftmaxGateNarrowRows.swift).
    /// With `residual`, y = residual + x ⊙ s (a residual connection after the gate, in the same pass).
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int,
                        weights s: UnsafeMutablePointer<Float>, adding residual: UnsafePointer<Float>? = nil, _ p: ParameterStore) {
        projection.forward(x, s, rows: rows, p)
        let d = features, chunks = d / 8, tail = chunks * 8
        let narrowRows = d > EightRows.widestForward ? 0 : EightRows.forEachEight(rows) { r, exps in
            Self.forwardEightNarrowRows(x + r * d, y + r * d, s + r * d, adding: residual.map { $0 + r * d }, features: d, exps: exps)
        }
        for r in narrowRows..<rows {
            let sr = s + r * d, xr = x + r * d, yr = y + r * d, hr = residual.map { $0 + r * d }
            let sv = UnsafeMutableRawPointer(sr), xv = UnsafeRawPointer(xr), yv = UnsafeMutableRawPointer(yr)
            var lanes = SIMD8<Float>(repeating: sr[0])
            for c in 0..<chunks { lanes = VectorMath.lanewiseMax(lanes, sv.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<Float>.self)) }
            var top = Swift.max(Swift.max(Swift.max(lanes[0], lanes[4]), Swift.max(lanes[1], lanes[5])),
                                Swift.max(Swift.max(lanes[2], lanes[6]), Swift.max(lanes[3], lanes[7])))
            for f in tail..<d { top = Swift.max(top, sr[f]) }
            let shift = SIMD8<Float>(repeating: top)
            var sum = SIMD8<Float>()
            for c in 0..<chunks {
                let e = VectorMath.exp(sv.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<Float>.self) - shift)
                sv.storeBytes(of: e, toByteOffset: 32 * c, as: SIMD8<Float>.self)
                sum += e
            }
            var rest: Float = 0
            for f in tail..<d { sr[f] = VectorMath.exp(sr[f] - top); rest += sr[f] }
            let inv = 1 / (Reduce.total(sum) + rest), scale = SIMD8<Float>(repeating: inv)
            for c in 0..<chunks {
                let w = sv.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<Float>.self) * scale
                sv.storeBytes(of: w, toByteOffset: 32 * c, as: SIMD8<Float>.self)
                let gated = xv.loadUnaligned(fromByteOffset: 32 * c, as: SIMD8<Float>.self) * w
                yv.storeBytes(of: hr.map { loadLanes($0 + 8 * c) + gated } ?? gated, toByteOffset: 32 * c, as: SIMD8<Float>.self)
            }
            for f in tail..<d {
                sr[f] *= inv
                let gated = xr[f] * sr[f]
                yr[f] = hr.map { $0[f] + gated } ?? gated
            }
        }
    }

    /// dx += dy ⊙ s + (dlogits) W, with dlogits = s ⊙ (dy ⊙ x - Σ (dy ⊙ x ⊙ s)); `scratch` holds dlogits.
    public func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weights s: UnsafePointer<Float>,
                         dx: UnsafeMutablePointer<Float>?, rows: Int, scratch: FloatBuffer, _ p: ParameterStore,
                         overwritingInput: Bool = false) {
        let d = features
        let dlogits = scratch.reserve(rows * d)
        let narrowRows = d > EightRows.widestBackward ? 0 : EightRows.forEachEight(rows) { r, lanes in
            Self.backwardEightNarrowRows(dy: dy + r * d, x: x + r * d, s: s + r * d, dlogits: dlogits + r * d, dx: dx.map { $0 + r * d },
                                         overwritingInput: overwritingInput, features: d, scratch: lanes)
        }
        for r in narrowRows..<rows {
            let sr = s + r * d, xr = x + r * d, dyr = dy + r * d, dl = dlogits + r * d, dxr = dx.map { $0 + r * d }
            // One pass for dy ⊙ x, its dot product with s (in Reduce.dot's order: lanes i mod 8, then pairwise,
            // then the tail) and dx's dy ⊙ s; a second for dlogits.
            var lanes = SIMD8<Float>(), tail: Float = 0
            var f = 0
            while f &+ 8 <= d {
                let dyv = loadLanes(dyr + f), sv = loadLanes(sr + f), product = dyv * loadLanes(xr + f)
                storeLanes(product, dl + f)
                lanes += product * sv
                if let dxr { storeLanes(overwritingInput ? dyv * sv : loadLanes(dxr + f) + dyv * sv, dxr + f) }
                f &+= 8
            }
            while f < d {
                let product = dyr[f] * xr[f]
                dl[f] = product
                tail += product * sr[f]
                if let dxr { dxr[f] = overwritingInput ? dyr[f] * sr[f] : dxr[f] + dyr[f] * sr[f] }
                f &+= 1
            }
            let dot = Reduce.total(lanes) + tail
            for f in 0..<d { dl[f] = sr[f] * (dl[f] - dot) }
        }
        projection.backward(dy: dlogits, x: x, dx: dx, rows: rows, p)
    }
}
