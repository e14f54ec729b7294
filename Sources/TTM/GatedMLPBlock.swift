import NN

/// One of TTM's mixing sub-blocks on h [batch, channels, patches, width]:
///   y = LayerNorm over width (h);  y permuted so that the mixed axis (of size k) is last;
///   z = gate(MLP_k(y)), or MLP_k(gate(y)) when the gate comes first (the channel mixer);
///   out = h + z permuted back.
final class GatedMLPBlock {
    enum Axis {
        /// Mix features: no permutation, k = width.
        case features
        /// Mix patches: [B·C, n, d] → [B·C, d, n], k = n.
        case patches
        /// Mix channels: [B, C, n·d] → [B, n·d, C], k = C.
        case channels
    }

    let axis: Axis
    let norm: LayerNorm
    let mlp: MLP
    let gate: SoftmaxGate?
    let gateFirst: Bool

    private let normOut = FloatBuffer(), normHat = FloatBuffer(), inverseStd = FloatBuffer()
    private let permuted = FloatBuffer(), middle = FloatBuffer(), mixed = FloatBuffer(), gateWeights = FloatBuffer()
    private let output = FloatBuffer()
    private let gradMixed = FloatBuffer(), gradMiddle = FloatBuffer(), gradIn = FloatBuffer(), gradNorm = FloatBuffer()
    private let scratch = FloatBuffer()
    private var shape = (batch: 0, channels: 0, patches: 0, width: 0)

    init(_ name: String, axis: Axis, width d: Int, mixedSize k: Int, expansion: Int, gated: Bool, gateFirst: Bool,
         dropout: Float, epsilon: Float, layout: inout ParameterLayout) {
        self.axis = axis
        self.gateFirst = gateFirst
        // State-dict order: norm, mlp, gating_block.
        norm = LayerNorm(name + ".norm.norm", features: d, epsilon: epsilon, layout: &layout)
        mlp = MLP(name + ".mlp", in: k, hidden: k * expansion, out: k, activation: .gelu, dropout: dropout, layout: &layout)
        gate = gated ? SoftmaxGate(name + ".gating_block.attn_layer", features: k, layout: &layout) : nil
    }

    func initialize(_ p: ParameterStore, seed: UInt64) {
        norm.initialize(p)
        mlp.fc1.initialize(p, seed: seed, .pytorchDefault)
        mlp.fc2.initialize(p, seed: seed, .pytorchDefault)
        gate?.projection.initialize(p, seed: seed, .pytorchDefault)
    }

    private var count: Int { shape.batch * shape.channels * shape.patches * shape.width }

    /// (transposes, rows, cols) taking the [.., rows, cols] layout of h to [.., cols, rows] with k last.
    private var permutation: (batch: Int, rows: Int, cols: Int)? {
        switch axis {
        case .features: nil
        case .patches: (shape.batch * shape.channels, shape.patches, shape.width)
        case .channels: (shape.batch, shape.channels, shape.patches * shape.width)
        }
    }

    private var mixedRows: Int { count / mlp.fc1.inFeatures }

    /// out = h + block(h); returns the block's own output buffer.
    func forward(_ h: UnsafePointer<Float>, batch: Int, channels: Int, patches: Int, width: Int,
                 mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        shape = (batch, channels, patches, width)
        let count = self.count, rows = count / width
        let y = normOut.reserve(count)
        norm.forward(h, y, rows: rows, normalized: normHat.reserve(count), inverseStd: inverseStd.reserve(rows), p)
        var input = UnsafePointer(y)
        if let perm = permutation {
            let t = permuted.reserve(count)
            Permute.swapLastTwo(y, t, batch: perm.batch, rows: perm.rows, cols: perm.cols)
            input = UnsafePointer(t)
        }
        let m = mixed.reserve(count), mid = middle.reserve(count), rowsK = mixedRows
        switch (gate, gateFirst) {
        case (let gate?, true):
            gate.forward(input, mid, rows: rowsK, weights: gateWeights.reserve(count), p)
            mlp.forward(mid, m, rows: rowsK, samples: batch, mode: mode, p)
        case (let gate?, false):
            mlp.forward(input, mid, rows: rowsK, samples: batch, mode: mode, p)
            gate.forward(mid, m, rows: rowsK, weights: gateWeights.reserve(count), p)
        case (nil, _):
            mlp.forward(input, m, rows: rowsK, samples: batch, mode: mode, p)
        }
        // out = h + m, permuted back where it was permuted, in one pass.
        let out = output.reserve(count)
        if let perm = permutation {
            Permute.swapLastTwo(m, plus: h, out, batch: perm.batch, rows: perm.cols, cols: perm.rows)
        } else {
            for i in 0..<count { out[i] = m[i] + h[i] }
        }
        return UnsafePointer(out)
    }

    /// dh += ∂⟨dOut, out⟩/∂h for the h of the last forward; parameter gradients accumulate.
    func backward(_ dOut: UnsafePointer<Float>, dh: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        let count = self.count, rowsK = mixedRows
        // Gradient buffers with a single writer are written, not zeroed and accumulated into.
        // Undo the final permutation: out = swap(m) ⇒ dm = swap⁻¹(dOut).
        var dm = dOut
        if let perm = permutation {
            let buffer = gradMixed.reserve(count)
            Permute.swapLastTwo(dOut, buffer, batch: perm.batch, rows: perm.rows, cols: perm.cols)
            dm = UnsafePointer(buffer)
        }
        let input = UnsafePointer(permutation == nil ? normOut.pointer : permuted.pointer)
        let dInput = gradIn.reserve(count)
        switch (gate, gateFirst) {
        case (let gate?, true):
            let dMid = gradMiddle.reserve(count)
            mlp.backward(dy: dm, x: middle.pointer, dx: dMid, rows: rowsK, p, overwritingInput: true)
            gate.backward(dy: dMid, x: input, weights: gateWeights.pointer, dx: dInput, rows: rowsK, scratch: scratch, p,
                          overwritingInput: true)
        case (let gate?, false):
            let dMid = gradMiddle.reserve(count)
            gate.backward(dy: dm, x: middle.pointer, weights: gateWeights.pointer, dx: dMid, rows: rowsK, scratch: scratch, p,
                          overwritingInput: true)
            mlp.backward(dy: dMid, x: input, dx: dInput, rows: rowsK, p, overwritingInput: true)
        case (nil, _):
            mlp.backward(dy: dm, x: input, dx: dInput, rows: rowsK, p, overwritingInput: true)
        }
        var dy = UnsafePointer(dInput)
        if let perm = permutation {
            let back = gradNorm.reserve(count)
            Permute.swapLastTwo(dInput, back, batch: perm.batch, rows: perm.cols, cols: perm.rows)
            dy = UnsafePointer(back)
        }
        norm.backward(dy: dy, dx: dh, rows: count / shape.width, normalized: normHat.pointer, inverseStd: inverseStd.pointer, p)
        addInPlace(dh, dOut, count: count)
    }
}
