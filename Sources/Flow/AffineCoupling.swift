import Foundation
import NN

/// An affine coupling on vectors of `features`: one part A of the vector passes unchanged and conditions, through a
/// small network, a shift t and a log-scale ls = tanh(r) (bounded in (-1, 1), so a step can neither blow up nor
/// vanish) of the other part B:
///   y_A = x_A,   y_B = x_B ⊙ exp(ls) + t,   (t, r) = net(x_A),   log|det| = Σ ls.
/// net: Linear → GELU → (Linear → GELU, plus its input) → Linear, the last zero-initialised so that a fresh
/// coupling is the identity. `transformsFirstPart` alternates which part changes (with A and B exchanged, the
/// fixed permutation between couplings).
public final class AffineCoupling: FlowLayer {
    public let features: Int
    public let transformsFirstPart: Bool
    public let input: Linear, hidden: Linear, output: Linear
    /// Sizes of the conditioning part A and the transformed part B.
    public let conditioning: Int, transformed: Int

    private let a = FloatBuffer(), xb = FloatBuffer(), u = FloatBuffer(), g1 = FloatBuffer(), d1 = FloatBuffer()
    private let g2 = FloatBuffer(), d2 = FloatBuffer(), net = FloatBuffer(), logScales = FloatBuffer()
    private let gradNet = FloatBuffer(), gradG2 = FloatBuffer(), gradU = FloatBuffer(), gradG1 = FloatBuffer(), gradA = FloatBuffer()

    public init(_ name: String, features: Int, hidden width: Int, transformsFirstPart: Bool, layout: inout ParameterLayout) {
        precondition(features >= 2, "a coupling needs at least two features")
        self.features = features
        self.transformsFirstPart = transformsFirstPart
        transformed = transformsFirstPart ? (features + 1) / 2 : features - features / 2
        conditioning = features - transformed
        input = Linear(name + ".net.0", in: conditioning, out: width, layout: &layout)
        hidden = Linear(name + ".net.1", in: width, out: width, layout: &layout)
        output = Linear(name + ".net.2", in: width, out: 2 * transformed, layout: &layout)
    }

    /// Where A and B start in a row.
    private var offsets: (a: Int, b: Int) { transformsFirstPart ? (transformed, 0) : (0, conditioning) }

    public func initialize(_ p: ParameterStore, seed: UInt64) {
        input.initialize(p, seed: seed, .pytorchDefault)
        hidden.initialize(p, seed: seed, .pytorchDefault)
        p.value(output.weight).update(repeating: 0, count: output.weight.count)
        if let bias = output.bias { p.value(bias).update(repeating: 0, count: bias.count) }
    }

    /// t and ls for the conditioning rows in `a` [rows, conditioning]: the network's output [rows, 2·transformed]
    /// lands in `net` (t, then r), ls = tanh(r) in `logScales`. Saves what backward needs when `saving`.
    private func conditioner(rows: Int, _ p: ParameterStore) {
        let w = input.outFeatures, m = transformed
        let h1 = u.reserve(rows * w), act1 = g1.reserve(rows * w), der1 = d1.reserve(rows * w)
        input.forward(a.pointer, h1, rows: rows, p)
        Activation.gelu.forward(h1, act1, derivative: der1, count: rows * w)
        let act2 = g2.reserve(rows * w), der2 = d2.reserve(rows * w)
        hidden.forward(act1, h1, rows: rows, p)
        Activation.gelu.forward(h1, act2, derivative: der2, count: rows * w)
        for i in 0..<(rows * w) { act2[i] += act1[i] }
        let o = net.reserve(rows * 2 * m)
        output.forward(act2, o, rows: rows, p)
        let ls = logScales.reserve(rows * m)
        for r in 0..<rows { for k in 0..<m { ls[r * m + k] = Foundation.tanh(o[r * 2 * m + m + k]) } }
    }

    private func gather(_ x: UnsafePointer<Float>, rows: Int) {
        let d = features, (oa, ob) = offsets, c = conditioning, m = transformed
        let pa = a.reserve(rows * c), pb = xb.reserve(rows * m)
        for r in 0..<rows {
            for k in 0..<c { pa[r * c + k] = x[r * d + oa + k] }
            for k in 0..<m { pb[r * m + k] = x[r * d + ob + k] }
        }
    }

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, samples: Int,
                        logdet: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        let d = features, (oa, ob) = offsets, c = conditioning, m = transformed, perSample = rows / samples
        gather(x, rows: rows)
        conditioner(rows: rows, p)
        let pa = a.pointer, pb = xb.pointer, o = net.pointer, ls = logScales.pointer
        for r in 0..<rows {
            var sum: Float = 0
            for k in 0..<c { y[r * d + oa + k] = pa[r * c + k] }
            for k in 0..<m {
                let s = ls[r * m + k]
                y[r * d + ob + k] = pb[r * m + k] * Foundation.exp(s) + o[r * 2 * m + k]
                sum += s
            }
            logdet[r / perSample] += sum
        }
    }

    public func inverse(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore) {
        let d = features, (oa, ob) = offsets, c = conditioning, m = transformed
        gather(y, rows: rows)  // A is unchanged by the forward, so y_A conditions as x_A did
        conditioner(rows: rows, p)
        let pa = a.pointer, pb = xb.pointer, o = net.pointer, ls = logScales.pointer
        for r in 0..<rows {
            for k in 0..<c { x[r * d + oa + k] = pa[r * c + k] }
            for k in 0..<m { x[r * d + ob + k] = (pb[r * m + k] - o[r * 2 * m + k]) * Foundation.exp(-ls[r * m + k]) }
        }
    }

    /// dx_B = dy_B ⊙ exp(ls);  dt = dy_B;  dr = (dy_B ⊙ x_B ⊙ exp(ls) + dlogdet) ⊙ (1 - ls²);
    /// dx_A = dy_A + net's input gradient of (dt, dr).
    public func backward(dy: UnsafePointer<Float>, dLogdet: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                         rows: Int, samples: Int, _ p: ParameterStore) {
        let d = features, (oa, ob) = offsets, c = conditioning, m = transformed, w = input.outFeatures, perSample = rows / samples
        let pb = xb.pointer, ls = logScales.pointer
        let dNet = gradNet.reserve(rows * 2 * m)
        for r in 0..<rows {
            let weight = dLogdet[r / perSample]
            for k in 0..<m {
                let g = dy[r * d + ob + k], s = ls[r * m + k], e = Foundation.exp(s)
                dx[r * d + ob + k] = g * e
                dNet[r * 2 * m + k] = g
                dNet[r * 2 * m + m + k] = (g * pb[r * m + k] * e + weight) * (1 - s * s)
            }
        }
        // Back through the network: out layer, the residual GELU block (its input gets both paths), the first layer.
        let dg2 = gradG2.reserve(rows * w)
        output.backward(dy: dNet, x: g2.pointer, dx: dg2, rows: rows, p, overwritingInput: true)
        let du = gradU.reserve(rows * w), dg1 = gradG1.reserve(rows * w)
        let der2 = d2.pointer, der1 = d1.pointer
        for i in 0..<(rows * w) { du[i] = dg2[i] * der2[i]; dg1[i] = dg2[i] }
        hidden.backward(dy: du, x: g1.pointer, dx: dg1, rows: rows, p)
        for i in 0..<(rows * w) { du[i] = dg1[i] * der1[i] }
        let da = gradA.reserve(rows * c)
        input.backward(dy: du, x: a.pointer, dx: da, rows: rows, p, overwritingInput: true)
        for r in 0..<rows {
            for k in 0..<c { dx[r * d + oa + k] = dy[r * d + oa + k] + da[r * c + k] }
        }
    }
}
