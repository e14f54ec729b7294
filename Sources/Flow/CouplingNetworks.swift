import NN

/// The network inside an affine coupling: from the conditioning part [rows, inputs] to the shift and raw
/// log-scale [rows, 2 · transformed]. Its last layer starts at zero, so a fresh coupling is the identity.
public protocol CouplingNetwork: AnyObject {
    func initialize(_ p: ParameterStore, seed: UInt64)
    /// out from a; saves what backward needs.
    func forward(_ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore)
    /// da (written, not added) from dOut for the last forward; parameter gradients accumulate.
    func backward(_ dOut: UnsafePointer<Float>, a: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore)
}

/// MixerFlow's conditioner on vectors: Linear → GELU → (Linear → GELU, plus its input) → Linear.
final class ResidualMLP: CouplingNetwork {
    let input: Linear, hidden: Linear, output: Linear
    private let u = FloatBuffer(), g1 = FloatBuffer(), d1 = FloatBuffer(), g2 = FloatBuffer(), d2 = FloatBuffer()
    private let gradG2 = FloatBuffer(), gradU = FloatBuffer(), gradG1 = FloatBuffer()

    init(_ name: String, inputs: Int, hidden width: Int, outputs: Int, layout: inout ParameterLayout) {
        input = Linear(name + ".0", in: inputs, out: width, layout: &layout)
        hidden = Linear(name + ".1", in: width, out: width, layout: &layout)
        output = Linear(name + ".2", in: width, out: outputs, layout: &layout)
    }

    func initialize(_ p: ParameterStore, seed: UInt64) {
        input.initialize(p, seed: seed, .pytorchDefault)
        hidden.initialize(p, seed: seed, .pytorchDefault)
        p.value(output.weight).update(repeating: 0, count: output.weight.count)
        if let bias = output.bias { p.value(bias).update(repeating: 0, count: bias.count) }
    }

    func forward(_ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore) {
        let w = input.outFeatures
        let h = u.reserve(rows * w), act1 = g1.reserve(rows * w), der1 = d1.reserve(rows * w)
        input.forward(a, h, rows: rows, p)
        Activation.gelu.forward(h, act1, derivative: der1, count: rows * w)
        let act2 = g2.reserve(rows * w), der2 = d2.reserve(rows * w)
        hidden.forward(act1, h, rows: rows, p)
        Activation.gelu.forward(h, act2, derivative: der2, count: rows * w)
        for i in 0..<(rows * w) { act2[i] += act1[i] }
        output.forward(act2, out, rows: rows, p)
    }

    func backward(_ dOut: UnsafePointer<Float>, a: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore) {
        let w = input.outFeatures
        let dg2 = gradG2.reserve(rows * w)
        output.backward(dy: dOut, x: g2.pointer, dx: dg2, rows: rows, p, overwritingInput: true)
        // The residual block's input gets both paths: dg1 = dg2 + (dg2 ⊙ gelu'(u2)) W.
        let du = gradU.reserve(rows * w), dg1 = gradG1.reserve(rows * w), der2 = d2.pointer, der1 = d1.pointer
        for i in 0..<(rows * w) { du[i] = dg2[i] * der2[i]; dg1[i] = dg2[i] }
        hidden.backward(dy: du, x: g1.pointer, dx: dg1, rows: rows, p)
        for i in 0..<(rows * w) { du[i] = dg1[i] * der1[i] }
        input.backward(dy: du, x: a, dx: da, rows: rows, p, overwritingInput: true)
    }
}

/// Glow's conditioner on images (rows are the pixels of `height` × `width` images, channels last):
/// 3×3 convolution → ReLU → 1×1 convolution → ReLU → 3×3 convolution.
final class ConvolutionalNetwork: CouplingNetwork {
    let first: Conv2D, middle: Conv2D, last: Conv2D
    private let h1 = FloatBuffer(), h2 = FloatBuffer(), gradH2 = FloatBuffer(), gradH1 = FloatBuffer()

    init(_ name: String, height: Int, width: Int, inputs: Int, hidden: Int, outputs: Int, layout: inout ParameterLayout) {
        first = Conv2D(name + ".0", height: height, width: width, in: inputs, out: hidden, kernel: 3, layout: &layout)
        middle = Conv2D(name + ".1", height: height, width: width, in: hidden, out: hidden, kernel: 1, layout: &layout)
        last = Conv2D(name + ".2", height: height, width: width, in: hidden, out: outputs, kernel: 3, layout: &layout)
    }

    func initialize(_ p: ParameterStore, seed: UInt64) {
        first.linear.initialize(p, seed: seed, .pytorchDefault)
        middle.linear.initialize(p, seed: seed, .pytorchDefault)
        p.value(last.linear.weight).update(repeating: 0, count: last.linear.weight.count)
        if let bias = last.linear.bias { p.value(bias).update(repeating: 0, count: bias.count) }
    }

    private func images(_ rows: Int) -> Int { rows / (first.height * first.width) }

    func forward(_ a: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore) {
        let w = first.outChannels, batch = images(rows)
        let x1 = h1.reserve(rows * w), x2 = h2.reserve(rows * w)
        first.forward(a, x1, batch: batch, p)
        for i in 0..<(rows * w) { x1[i] = max(x1[i], 0) }
        middle.forward(x1, x2, batch: batch, p)
        for i in 0..<(rows * w) { x2[i] = max(x2[i], 0) }
        last.forward(x2, out, batch: batch, p)
    }

    func backward(_ dOut: UnsafePointer<Float>, a: UnsafePointer<Float>, da: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore) {
        let w = first.outChannels, batch = images(rows)
        let d2 = gradH2.reserve(rows * w), d1 = gradH1.reserve(rows * w), x1 = h1.pointer, x2 = h2.pointer
        last.backward(dy: dOut, dx: d2, batch: batch, p)
        for i in 0..<(rows * w) where x2[i] <= 0 { d2[i] = 0 }  // ReLU: the derivative at 0 taken as 0
        middle.backward(dy: d2, dx: d1, batch: batch, p)
        for i in 0..<(rows * w) where x1[i] <= 0 { d1[i] = 0 }
        first.backward(dy: d1, dx: da, batch: batch, p)
    }
}
