import Foundation
import NN

/// An affine coupling on the rows of a [rows, features] matrix: one part A of each row passes unchanged and
/// conditions, through a network, a shift t and a log-scale ls = tanh(r) (bounded in (-1, 1), so a step can
/// neither blow up nor vanish) of the other part B:
///   y_A = x_A,   y_B = x_B ⊙ exp(ls) + t,   (t, r) = net(x_A),   log|det| = Σ ls.
/// MixerFlow's net works on each row alone (`ResidualMLP`); Glow's sees the image the rows are pixels of
/// (`ConvolutionalNetwork`). `transformsFirstPart` alternates which part changes (with A and B exchanged, the
/// fixed permutation between couplings).
public final class AffineCoupling: FlowLayer {
    public let features: Int
    public let transformsFirstPart: Bool
    /// Sizes of the conditioning part A and the transformed part B.
    public let conditioning: Int, transformed: Int
    public let network: CouplingNetwork

    private let a = FloatBuffer(), xb = FloatBuffer(), net = FloatBuffer(), logScales = FloatBuffer()
    private let gradNet = FloatBuffer(), gradA = FloatBuffer()

    private init(features: Int, transformsFirstPart: Bool, network: (Int, Int) -> CouplingNetwork) {
        precondition(features >= 2, "a coupling needs at least two features")
        self.features = features
        self.transformsFirstPart = transformsFirstPart
        transformed = transformsFirstPart ? (features + 1) / 2 : features - features / 2
        conditioning = features - transformed
        self.network = network(conditioning, 2 * transformed)
    }

    /// MixerFlow's coupling on vectors of `features`, with a residual MLP of width `hidden`.
    public convenience init(_ name: String, features: Int, hidden width: Int, transformsFirstPart: Bool, layout: inout ParameterLayout) {
        var made = layout
        self.init(features: features, transformsFirstPart: transformsFirstPart) { inputs, outputs in
            ResidualMLP(name + ".net", inputs: inputs, hidden: width, outputs: outputs, layout: &made)
        }
        layout = made
    }

    /// Glow's coupling on the channels of `height` × `width` images, with a convolutional network of width `hidden`.
    public convenience init(_ name: String, channels: Int, height: Int, width: Int, hidden: Int, transformsFirstPart: Bool,
                            layout: inout ParameterLayout) {
        var made = layout
        self.init(features: channels, transformsFirstPart: transformsFirstPart) { inputs, outputs in
            ConvolutionalNetwork(name + ".net", height: height, width: width, inputs: inputs, hidden: hidden, outputs: outputs, layout: &made)
        }
        layout = made
    }

    /// Where A and B start in a row.
    private var offsets: (a: Int, b: Int) { transformsFirstPart ? (transformed, 0) : (0, conditioning) }

    public func initialize(_ p: ParameterStore, seed: UInt64) { network.initialize(p, seed: seed) }

    /// t (first half of each row of `net`), r (second half) and ls = tanh(r) for the rows gathered into `a`.
    private func conditioner(rows: Int, _ p: ParameterStore) {
        let m = transformed
        let o = net.reserve(rows * 2 * m)
        network.forward(a.pointer, o, rows: rows, p)
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
        let d = features, (oa, ob) = offsets, c = conditioning, m = transformed, perSample = rows / samples
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
        let da = gradA.reserve(rows * c)
        network.backward(dNet, a: a.pointer, da: da, rows: rows, p)
        for r in 0..<rows {
            for k in 0..<c { dx[r * d + oa + k] = dy[r * d + oa + k] + da[r * c + k] }
        }
    }
}
