import Kernels

/// Buffers an MLP uses only inside one call: fc1's output in a training forward (the saved derivative stands
/// in for it afterwards) and the backward's gradients on their way through. The MLPs of one model run one after
/// another, so they can share one set: each then writes lines still in cache, not a buffer of its own that the
/// model's other layers have long since pushed out (see `MLP.init(scratch:)`).
public final class MLPScratch {
    let hidden = FloatBuffer(), gradOut = FloatBuffer(), gradHidden = FloatBuffer(), gradPre = FloatBuffer()
    public init() {}
}

/// Two-layer perceptron: fc1 (in → hidden), activation, dropout, fc2 (hidden → out), dropout
/// (granite-tsfm's TinyTimeMixerMLP with GELU). Its positions are the rows of x [positions, in], or with
/// `onColumns` the columns of x [in, positions] (see `Linear.forward(columns:)`).
public final class MLP {
    public let fc1: Linear
    public let fc2: Linear
    public let activation: Activation
    public let dropout1: Dropout
    public let dropout2: Dropout
    public let onColumns: Bool

    /// fc1's output before the activation, after a forward without a saved derivative (a backward reads it).
    private let hidden = FloatBuffer()
    private let activated = FloatBuffer()   // after activation and dropout: fc2's input
    private let mask1 = DropoutMask()
    private let mask2 = DropoutMask()
    /// f'(fc1 output), saved by a training forward so that backward skips the activation's function.
    private let derivative = FloatBuffer()
    private var derivativeSaved = false
    private let scratch: MLPScratch

    /// `scratch`: buffers shared with the other MLPs of a model that run one after another (never at once).
    public init(_ name: String, in inFeatures: Int, hidden hiddenFeatures: Int, out outFeatures: Int,
                activation: Activation = .gelu, dropout: Float, onColumns: Bool = false, scratch: MLPScratch = MLPScratch(),
                layout: inout ParameterLayout) {
        self.onColumns = onColumns
        self.scratch = scratch
        fc1 = Linear(name + ".fc1", in: inFeatures, out: hiddenFeatures, layout: &layout)
        fc2 = Linear(name + ".fc2", in: hiddenFeatures, out: outFeatures, layout: &layout)
        self.activation = activation
        dropout1 = layout.newDropout(rate: dropout)
        dropout2 = layout.newDropout(rate: dropout)
    }

    /// y [positions, out] from x [positions, in] (transposed on columns); positions belong to `samples` samples
    /// in order (for the dropout streams).
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, positions: Int, samples: Int,
                        mode: ForwardMode, _ p: ParameterStore) {
        let h = fc1.outFeatures, o = fc2.outFeatures
        derivativeSaved = mode.needsBackward
        let pre = (derivativeSaved ? scratch.hidden : hidden).reserve(positions * h), act = activated.reserve(positions * h)
        forward(fc1, x, pre, positions, p)
        if derivativeSaved && activation == .gelu && drawMask(dropout1, mask1, features: h, positions: positions, samples: samples, mode: mode) {
            // The GELU and dropout 1 in one pass over the activations (the mask drawn first, as flags).
            ElementwiseLoops.kernels.gelu(pre, act, derivative: derivative.reserve(positions * h), keeping: mask1.keep, scale: mask1.scale,
                                          count: positions * h)
        } else {
            if derivativeSaved {
                activation.forward(pre, act, derivative: derivative.reserve(positions * h), count: positions * h)
            } else {
                activation.forward(pre, act, count: positions * h)
            }
            drop(dropout1, act, mask1, features: h, positions: positions, samples: samples, mode: mode)
        }
        // Dropout 2 as fc2's tiles are finished (mask drawn first), not as a pass over y afterwards.
        _ = drawMask(dropout2, mask2, features: o, positions: positions, samples: samples, mode: mode)
        forward(fc2, act, y, positions, p, finish: mask2.finishing())
    }

    private func forward(_ layer: Linear, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ positions: Int, _ p: ParameterStore,
                         finish: PanelGEMM.Finish = .none) {
        if onColumns { layer.forward(columns: x, y, count: positions, p, finish: finish) } else { layer.forward(x, y, rows: positions, p, finish: finish) }
    }

    private func drop(_ dropout: Dropout, _ v: UnsafeMutablePointer<Float>, _ mask: DropoutMask, features: Int, positions: Int,
                      samples: Int, mode: ForwardMode) {
        if onColumns {
            dropout.forward(columns: v, v, mask: mask, rows: features, samples: samples, width: positions / samples,
                            context: mode.dropoutContext, keepMask: mode.needsBackward)
        } else {
            dropout.forward(v, v, mask: mask, samples: samples, perSample: positions / samples * features,
                            context: mode.dropoutContext, keepMask: mode.needsBackward)
        }
    }

    /// Draws `dropout`'s mask for the activations without applying it (`Dropout.drawMask`); false when nothing
    /// is dropped.
    private func drawMask(_ dropout: Dropout, _ mask: DropoutMask, features: Int, positions: Int, samples: Int, mode: ForwardMode) -> Bool {
        if onColumns {
            return dropout.drawMask(columns: features, mask, samples: samples, width: positions / samples, context: mode.dropoutContext)
        }
        return dropout.drawMask(mask, samples: samples, perSample: positions / samples * features, context: mode.dropoutContext)
    }

    private func backward(_ layer: Linear, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                          _ positions: Int, _ p: ParameterStore, overwritingInput: Bool, finishingInput: PanelGEMM.Finish = .none) {
        if onColumns {
            layer.backward(columns: dy, x: x, dx: dx, count: positions, p, overwritingInput: overwritingInput, finishingInput: finishingInput)
        } else {
            layer.backward(dy: dy, x: x, dx: dx, rows: positions, p, overwritingInput: overwritingInput, finishingInput: finishingInput)
        }
    }

    /// dx += ∂/∂x of ⟨dy, y⟩ given the x of the last forward (dx = … with `overwritingInput`); parameter
    /// gradients accumulate.
    public func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?,
                         positions: Int, _ p: ParameterStore, overwritingInput: Bool = false) {
        let h = fc1.outFeatures, o = fc2.outFeatures
        // Written, not accumulated: no zeroing passes over the two gradient buffers.
        let dOut = mask2.applied(to: dy, using: scratch.gradOut, count: positions * o)
        let dAct = scratch.gradHidden.reserve(positions * h)
        // Through dropout 1 and the activation: dPre = dAct ⊙ mask1 ⊙ f'(pre), in place over dAct (which nothing
        // reads after). With the mask and the saved derivative, fc2's input gradient applies both as its tiles
        // are finished, in that order: no pass re-reads dAct.
        var dPre = dAct
        if derivativeSaved, mask1.applied {
            backward(fc2, dy: dOut, x: activated.pointer, dx: dAct, positions, p, overwritingInput: true,
                     finishingInput: mask1.finishing(times: derivative.pointer))
        } else {
            backward(fc2, dy: dOut, x: activated.pointer, dx: dAct, positions, p, overwritingInput: true)
            if derivativeSaved {
                ElementwiseLoops.kernels.multiply(dAct, derivative.pointer, into: dPre, count: positions * h)
            } else {  // after an inference forward (eval-mode gradients): f' from the saved fc1 output
                mask1.apply(to: dAct, count: positions * h)
                let through = scratch.gradPre.reserve(positions * h)
                through.update(repeating: 0, count: positions * h)
                activation.backward(dy: dAct, x: hidden.pointer, dx: through, count: positions * h)
                dPre = through
            }
        }
        backward(fc1, dy: dPre, x: x, dx: dx, positions, p, overwritingInput: overwritingInput)
    }
}
