/// Two-layer perceptron: fc1 (in → hidden), activation, dropout, fc2 (hidden → out), dropout
/// (granite-tsfm's TinyTimeMixerMLP with GELU).
public final class MLP {
    public let fc1: Linear
    public let fc2: Linear
    public let activation: Activation
    public let dropout1: Dropout
    public let dropout2: Dropout

    private let hidden = FloatBuffer()      // fc1 output, before the activation
    private let activated = FloatBuffer()   // after activation and dropout: fc2's input
    private let mask1 = DropoutMask()
    private let mask2 = DropoutMask()
    /// f'(fc1 output), saved by a training forward so that backward skips the activation's function.
    private let derivative = FloatBuffer()
    private var derivativeSaved = false
    private let gradHidden = FloatBuffer()
    private let gradOut = FloatBuffer()
    private let gradPre = FloatBuffer()

    public init(_ name: String, in inFeatures: Int, hidden hiddenFeatures: Int, out outFeatures: Int,
                activation: Activation = .gelu, dropout: Float, layout: inout ParameterLayout) {
        fc1 = Linear(name + ".fc1", in: inFeatures, out: hiddenFeatures, layout: &layout)
        fc2 = Linear(name + ".fc2", in: hiddenFeatures, out: outFeatures, layout: &layout)
        self.activation = activation
        dropout1 = layout.newDropout(rate: dropout)
        dropout2 = layout.newDropout(rate: dropout)
    }

    /// y [rows, out] from x [rows, in]; rows belong to `samples` samples in order (for the dropout streams).
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, samples: Int,
                        mode: ForwardMode, _ p: ParameterStore) {
        let h = fc1.outFeatures, o = fc2.outFeatures
        let pre = hidden.reserve(rows * h), act = activated.reserve(rows * h)
        fc1.forward(x, pre, rows: rows, p)
        derivativeSaved = mode.isTraining
        if derivativeSaved {
            activation.forward(pre, act, derivative: derivative.reserve(rows * h), count: rows * h)
        } else {
            activation.forward(pre, act, count: rows * h)
        }
        dropout1.forward(act, act, mask: mask1, samples: samples, perSample: rows / samples * h,
                         context: mode.dropoutContext)
        fc2.forward(act, y, rows: rows, p)
        dropout2.forward(y, y, mask: mask2, samples: samples, perSample: rows / samples * o,
                         context: mode.dropoutContext)
    }

    /// dx += ∂/∂x of ⟨dy, y⟩ given the x of the last forward (dx = … with `overwritingInput`); parameter
    /// gradients accumulate.
    public func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                         rows: Int, _ p: ParameterStore, overwritingInput: Bool = false) {
        let h = fc1.outFeatures, o = fc2.outFeatures
        // Written, not accumulated: no zeroing passes over the two gradient buffers.
        let dOut = mask2.applied(to: dy, using: gradOut, count: rows * o)
        let dAct = gradHidden.reserve(rows * h)
        fc2.backward(dy: dOut, x: activated.pointer, dx: dAct, rows: rows, p, overwritingInput: true)
        // Through dropout 1 and the activation: dPre = dAct ⊙ mask1 ⊙ f'(pre).
        let dPre = gradPre.reserve(rows * h)
        if derivativeSaved, mask1.applied {  // one pass: (dAct ⊙ mask1) ⊙ f', in that order
            let d = derivative.pointer, m = mask1.values.pointer
            for i in 0..<(rows * h) { dPre[i] = dAct[i] * m[i] * d[i] }
        } else if derivativeSaved {
            let d = derivative.pointer
            for i in 0..<(rows * h) { dPre[i] = dAct[i] * d[i] }
        } else {  // after an inference forward (eval-mode gradients)
            mask1.apply(to: dAct, count: rows * h)
            dPre.update(repeating: 0, count: rows * h)
            activation.backward(dy: dAct, x: hidden.pointer, dx: dPre, count: rows * h)
        }
        fc1.backward(dy: dPre, x: x, dx: dx, rows: rows, p, overwritingInput: overwritingInput)
    }
}
