import NN

/// Buffers a mixing block uses only inside one forward or backward, shared by all the blocks of one model (they
/// run one after another), so that these passes write lines still in cache (see `MLPScratch`).
final class BlockScratch {
    let mixed = FloatBuffer(), gradMixed = FloatBuffer(), gradMiddle = FloatBuffer(), gradIn = FloatBuffer()
    let work = FloatBuffer()
    let mlp = MLPScratch()
}

/// One of TTM's mixing sub-blocks on h [batch, channels, patches, width]:
///   y = LayerNorm over width (h);  z = gate(MLP_k(y)), or MLP_k(gate(y)) when the gate comes first (the
///   channel mixer), mixing an axis of size k;  out = h + z.
/// The feature mixer mixes the last axis (rows of y). The patch and channel mixers mix a leading axis: the
/// LayerNorm writes y with that axis first ([k, columns]: patches [n, B·C·d], channels [C, B·n·d]), the MLP and
/// gate run on columns, and the residual add swaps back, so no element transposes are needed.
final class GatedMLPBlock {
    enum Axis {
        /// Mix features: k = width.
        case features
        /// Mix patches: [B·C, n, d] → [n, B·C·d], k = n.
        case patches
        /// Mix channels: [B, C, n·d] → [C, B·n·d], k = C.
        case channels
    }

    let axis: Axis
    let norm: LayerNorm
    let mlp: MLP
    let gate: SoftmaxGate?
    let gateFirst: Bool

    private let normOut = FloatBuffer(), mean = FloatBuffer(), inverseStd = FloatBuffer()
    private let middle = FloatBuffer(), gateWeights = FloatBuffer()
    private let output = FloatBuffer()
    private let scratch: BlockScratch
    private var shape = (batch: 0, channels: 0, patches: 0, width: 0)
    /// The h of the last forward: the norm's backward recomputes x̂ from it.
    private var lastInput: UnsafePointer<Float>?

    init(_ name: String, axis: Axis, width d: Int, mixedSize k: Int, expansion: Int, gated: Bool, gateFirst: Bool,
         dropout: Float, epsilon: Float, scratch: BlockScratch, layout: inout ParameterLayout) {
        self.axis = axis
        self.gateFirst = gateFirst
        self.scratch = scratch
        // State-dict order: norm, mlp, gating_block.
        norm = LayerNorm(name + ".norm.norm", features: d, epsilon: epsilon, layout: &layout)
        mlp = MLP(name + ".mlp", in: k, hidden: k * expansion, out: k, activation: .gelu, dropout: dropout,
                  onColumns: axis != .features, scratch: scratch.mlp, layout: &layout)
        gate = gated ? SoftmaxGate(name + ".gating_block.attn_layer", features: k, layout: &layout) : nil
    }

    func initialize(_ p: ParameterStore, seed: UInt64) {
        norm.initialize(p)
        mlp.fc1.initialize(p, seed: seed, .pytorchDefault)
        mlp.fc2.initialize(p, seed: seed, .pytorchDefault)
        gate?.projection.initialize(p, seed: seed, .pytorchDefault)
    }

    private var count: Int { shape.batch * shape.channels * shape.patches * shape.width }

    /// The leading axes that the LayerNorm exchanges so that the mixed axis comes first: [outer, k, …] → [k, outer, …].
    private var swap: LeadingSwap? {
        switch axis {
        case .features: nil
        case .patches: LeadingSwap(first: shape.batch * shape.channels, second: shape.patches)
        case .channels: LeadingSwap(first: shape.batch, second: shape.channels)
        }
    }

    /// Rows of the MLP's input (features), or its columns (patches, channels).
    private var positions: Int { count / mlp.fc1.inFeatures }

    /// out = h + block(h); returns the block's own output buffer.
    func forward(_ h: UnsafePointer<Float>, batch: Int, channels: Int, patches: Int, width: Int,
                 mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        shape = (batch, channels, patches, width)
        let count = self.count, rows = count / width, swap = self.swap
        let input = normOut.reserve(count)
        norm.forward(h, input, rows: rows, mean: mean.reserve(rows), inverseStd: inverseStd.reserve(rows), swapping: swap, p)
        lastInput = h
        let m = scratch.mixed.reserve(count), mid = middle.reserve(count), positions = self.positions
        func gateForward(_ gate: SoftmaxGate, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
            let s = gateWeights.reserve(count)
            if swap == nil { gate.forward(x, y, rows: positions, weights: s, p) } else { gate.forward(columns: x, y, count: positions, weights: s, p) }
        }
        let out = output.reserve(count)
        switch (gate, gateFirst) {
        case (let gate?, true):
            gateForward(gate, input, mid)
            mlp.forward(mid, m, positions: positions, samples: batch, mode: mode, p)
        case (let gate?, false):
            mlp.forward(input, mid, positions: positions, samples: batch, mode: mode, p)
            if swap == nil {  // out = h + gate(mid) in the gate's own pass
                gate.forward(mid, out, rows: positions, weights: gateWeights.reserve(count), adding: h, p)
                return UnsafePointer(out)
            }
            gateForward(gate, mid, m)
        case (nil, _):
            mlp.forward(input, m, positions: positions, samples: batch, mode: mode, p)
        }
        // out = h + m, swapped back where the norm swapped, in one pass.
        if let swap {
            Permute.swapLeadingTwo(m, plus: h, out, first: swap.second, second: swap.first, width: count / (swap.first * swap.second))
        } else {
            for i in 0..<count { out[i] = m[i] + h[i] }
        }
        return UnsafePointer(out)
    }

    /// dh = ∂⟨dOut, out⟩/∂h for the h of the last forward, which must still hold what that forward read (the
    /// norm recomputes x̂ from it). dh is written, not added to: the norm's backward adds the residual's
    /// gradient dOut in its own pass. Parameter gradients accumulate.
    func backward(_ dOut: UnsafePointer<Float>, dh: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        let count = self.count, positions = self.positions, swap = self.swap
        // Gradient buffers with a single writer are written, not zeroed and accumulated into.
        // out = h + swap⁻¹(m) ⇒ dm = swap(dOut).
        var dm = dOut
        if let swap {
            let buffer = scratch.gradMixed.reserve(count)
            Permute.swapLeadingTwo(dOut, buffer, first: swap.first, second: swap.second, width: count / (swap.first * swap.second))
            dm = UnsafePointer(buffer)
        }
        func gateBackward(_ gate: SoftmaxGate, dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>) {
            if swap == nil {
                gate.backward(dy: dy, x: x, weights: gateWeights.pointer, dx: dx, rows: positions, scratch: scratch.work, p, overwritingInput: true)
            } else {
                gate.backward(columns: dy, x: x, weights: gateWeights.pointer, dx: dx, count: positions, scratch: scratch.work, p,
                              overwritingInput: true)
            }
        }
        let input = UnsafePointer(normOut.pointer)
        let dInput = scratch.gradIn.reserve(count)
        switch (gate, gateFirst) {
        case (let gate?, true):
            let dMid = scratch.gradMiddle.reserve(count)
            mlp.backward(dy: dm, x: middle.pointer, dx: dMid, positions: positions, p, overwritingInput: true)
            gateBackward(gate, dy: dMid, x: input, dx: dInput)
        case (let gate?, false):
            let dMid = scratch.gradMiddle.reserve(count)
            gateBackward(gate, dy: dm, x: middle.pointer, dx: dMid)
            mlp.backward(dy: dMid, x: input, dx: dInput, positions: positions, p, overwritingInput: true)
        case (nil, _):
            mlp.backward(dy: dm, x: input, dx: dInput, positions: positions, p, overwritingInput: true)
        }
        guard let h = lastInput else { preconditionFailure("GatedMLPBlock.backward before a forward") }
        norm.backward(dy: dInput, dx: dh, rows: count / shape.width, x: h, mean: mean.pointer, inverseStd: inverseStd.pointer,
                      swapping: swap, residual: dOut, scratch: scratch.work, p)
    }
}
