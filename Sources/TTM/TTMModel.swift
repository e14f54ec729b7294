import NN

/// IBM's TinyTimeMixerForPrediction with explicit forward and backward (granite-tsfm semantics):
/// std scaling per series and channel, non-overlapping patches, a patch embedding, encoder groups of mixer
/// layers at adaptive patch splits, a decoder (with an adapter when its width differs), a linear head over
/// the flattened patches, and the scaling undone on the forecast.
///
/// past values [batch, context, channels] → forecast [batch, horizon, channels]. Parameters are named as in
/// IBM's state dict and declared in its order, so the backbone is a prefix of the arena.
public final class TTMModel {
    public let config: TTMConfig
    public let layout: ParameterLayout
    /// Parameters (elements) of the backbone: the prefix of the arena that fine-tuning freezes.
    public let backboneParameterCount: Int

    let scaler: RevIN?
    let patcher: Linear
    let encoderGroups: [TTMMixerStack]
    let adapter: Linear?
    let decoder: TTMMixerStack
    let headDropout: Dropout
    let head: Linear

    /// When true, backward stops at the decoder's input: no gradient reaches the backbone (fine-tuning).
    public var backboneFrozen = false

    private var batch = 0
    private let scaled = FloatBuffer(), patches = FloatBuffer(), embedded = FloatBuffer(), adapted = FloatBuffer()
    private let headInput = FloatBuffer(), headMask = DropoutMask(), headOutput = FloatBuffer(), forecast = FloatBuffer()
    private var backboneOutput: UnsafePointer<Float>?
    /// Each encoder group's output in the last forward (for locating a NaN).
    private var groupOutputs: [UnsafePointer<Float>] = []
    private var decoderOutput: UnsafePointer<Float>?
    private let gradForecast = FloatBuffer(), gradHead = FloatBuffer(), gradDecoderOut = FloatBuffer()
    private let gradDecoderIn = FloatBuffer(), gradAdapter = FloatBuffer(), gradEmbedded = FloatBuffer()
    private let gradBackbone = [FloatBuffer(), FloatBuffer()]
    private let gradPatches = FloatBuffer(), gradScaled = FloatBuffer(), scratch = FloatBuffer()

    public init(config: TTMConfig) throws {
        try config.validate()
        self.config = config
        var layout = ParameterLayout()
        let C = config.numInputChannels, N = config.numPatches, D = config.dModel, Dd = config.decoderDModel
        scaler = config.scaling == .std ? RevIN("scaler", channels: C, epsilon: 1e-5, affine: false, layout: &layout) : nil
        patcher = Linear("backbone.encoder.patcher", in: config.patchLength, out: D, layout: &layout)
        let encoderMixesChannels = config.mode == .mixChannel
        let blockScratch = BlockScratch()  // every mixing block's temporaries: the blocks run one after another
        let levels = config.adaptivePatchingLevels
        encoderGroups = config.adaptiveFactors.enumerated().map { group, factor in
            let prefix = levels > 0
                ? "backbone.encoder.mlp_mixer_encoder.mixers.\(group).mixer_layers."
                : "backbone.encoder.mlp_mixer_encoder.mixers."
            return TTMMixerStack(layers: (0..<config.numLayers).map { index in
                TTMMixerLayer(prefix + "\(index)", patches: N * factor, width: D / factor, channels: C,
                              mixChannels: encoderMixesChannels, config: config, dropout: config.dropout, scratch: blockScratch,
                              layout: &layout)
            })
        }
        backboneParameterCount = layout.count
        adapter = D != Dd ? Linear("decoder.adapter", in: D, out: Dd, layout: &layout) : nil
        decoder = TTMMixerStack(layers: (0..<config.decoderNumLayers).map { index in
            TTMMixerLayer("decoder.decoder_block.mixers.\(index)", patches: N, width: Dd, channels: C,
                          mixChannels: config.decoderMode == .mixChannel, config: config, dropout: config.headDropout,
                          scratch: blockScratch, layout: &layout)
        })
        headDropout = layout.newDropout(rate: config.headDropout)
        head = Linear("head.base_forecast_block", in: N * Dd, out: config.predictionLength, layout: &layout)
        self.layout = layout
    }

    /// PyTorch's default initialisation (granite's init_linear "pytorch"): Linear weight and bias uniform in
    /// ±1/√fan_in, LayerNorm weight 1 and bias 0; drawn from the counter-based generator keyed by `seed`.
    public func initialize(_ p: ParameterStore, seed: UInt64) {
        patcher.initialize(p, seed: seed, .pytorchDefault)
        for group in encoderGroups { for layer in group.layers { layer.initialize(p, seed: seed) } }
        adapter?.initialize(p, seed: seed, .pytorchDefault)
        for layer in decoder.layers { layer.initialize(p, seed: seed) }
        head.initialize(p, seed: seed, .pytorchDefault)
    }

    // MARK: forward

    /// The forecast [batch, horizon, channels] for past values [batch, context, channels].
    public func forward(_ past: UnsafePointer<Float>, batch: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        self.batch = batch
        let L = config.contextLength, C = config.numInputChannels, N = config.numPatches, P = config.patchLength
        let D = config.dModel, Dd = config.decoderDModel, H = config.predictionLength
        let x = scaler?.normalize(past, into: scaled, batch: batch, time: L, p) ?? past
        // Patches [B, C, N, P] from [B, L, C]; the last N·P steps are used (patch_last).
        let start = L - N * P
        let patched = patches.reserve(batch * C * N * P)
        for b in 0..<batch {
            for c in 0..<C {
                for i in 0..<N {
                    let out = patched + ((b * C + c) * N + i) * P
                    for j in 0..<P { out[j] = x[(b * L + start + i * P + j) * C + c] }
                }
            }
        }
        let h0 = embedded.reserve(batch * C * N * D)
        patcher.forward(patched, h0, rows: batch * C * N, p)
        var h = UnsafePointer(h0)
        groupOutputs.removeAll(keepingCapacity: true)
        let backboneMode = backboneFrozen ? mode.withoutBackward : mode   // dropout on, no backward state
        for group in encoderGroups {
            h = group.forward(h, batch: batch, channels: C, mode: backboneMode, p)
            groupOutputs.append(h)
        }
        backboneOutput = h
        if let adapter {
            let a = adapted.reserve(batch * C * N * Dd)
            adapter.forward(h, a, rows: batch * C * N, p)
            h = UnsafePointer(a)
        }
        h = decoder.forward(h, batch: batch, channels: C, mode: mode, p)
        decoderOutput = h
        // Head: [B·C, N·Dd] → dropout → Linear → [B, C, H] → [B, H, C].
        let headIn = headInput.reserve(batch * C * N * Dd)
        headDropout.forward(h, headIn, mask: headMask, samples: batch, perSample: C * N * Dd,
                            context: mode.dropoutContext)
        let z = headOutput.reserve(batch * C * H)
        head.forward(headIn, z, rows: batch * C, p)
        let y = forecast.reserve(batch * H * C)
        Permute.swapLastTwo(z, y, batch: batch, rows: C, cols: H)
        scaler?.denormalize(y, y, horizon: H, p)
        return UnsafePointer(y)
    }

    /// The encoder's output of the last forward, [batch, channels, patches, d_model].
    public var backboneHiddenState: UnsafePointer<Float>? { backboneOutput }
    /// The decoder's output of the last forward, [batch, channels, patches, decoder_d_model].
    public var decoderHiddenState: UnsafePointer<Float>? { decoderOutput }
    /// The scaler's location and scale of the last forward, [batch, channels] (nil without scaling).
    public var location: UnsafePointer<Float>? { scaler?.location }
    public var scale: UnsafePointer<Float>? { scaler?.scale }

    /// The first stage of the last forward whose output holds a NaN or infinity, named as in the state dict,
    /// or nil when all are finite.
    public func firstNonFiniteStage() -> String? {
        let c = config, B = batch, C = c.numInputChannels, N = c.numPatches
        var stages: [(String, UnsafePointer<Float>, Int)] = []
        if scaler != nil { stages.append(("scaler (std scaling of the input)", UnsafePointer(scaled.pointer), B * c.contextLength * C)) }
        stages.append(("backbone.encoder.patcher", UnsafePointer(embedded.pointer), B * C * N * c.dModel))
        let prefix = c.adaptivePatchingLevels > 0 ? "backbone.encoder.mlp_mixer_encoder.mixers.%d" : "backbone.encoder.mlp_mixer_encoder (layers %d..)"
        for (k, output) in groupOutputs.enumerated() { stages.append((String(format: prefix, k), output, B * C * N * c.dModel)) }
        if adapter != nil { stages.append(("decoder.adapter", UnsafePointer(adapted.pointer), B * C * N * c.decoderDModel)) }
        if let decoderOutput { stages.append(("decoder.decoder_block", decoderOutput, B * C * N * c.decoderDModel)) }
        stages.append(("head.base_forecast_block", UnsafePointer(headOutput.pointer), B * C * c.predictionLength))
        stages.append(("output (after denormalisation)", UnsafePointer(forecast.pointer), B * C * c.predictionLength))
        for (name, pointer, count) in stages where UnsafeBufferPointer(start: pointer, count: count).contains(where: { !$0.isFinite }) {
            return name
        }
        return nil
    }

    // MARK: backward

    /// Accumulates parameter gradients for ⟨dForecast, forecast⟩ of the last forward, and adds the gradient
    /// with respect to the past values into `dPast` when given. With `backboneFrozen` nothing below the
    /// decoder is touched.
    public func backward(_ dForecast: UnsafePointer<Float>, dPast: UnsafeMutablePointer<Float>?, _ p: ParameterStore) {
        let L = config.contextLength, C = config.numInputChannels, N = config.numPatches, P = config.patchLength
        let D = config.dModel, Dd = config.decoderDModel, H = config.predictionLength
        let dy = scaler?.denormalizeBackward(dOut: dForecast, into: gradForecast, p) ?? dForecast
        // Buffers with a single writer are written, not zeroed and accumulated into.
        let dz = gradHead.reserve(batch * C * max(H, N * Dd))
        Permute.swapLastTwo(dy, dz, batch: batch, rows: H, cols: C)
        let dHeadIn = gradDecoderOut.reserve(batch * C * N * Dd)
        head.backward(dy: dz, x: headInput.pointer, dx: dHeadIn, rows: batch * C, p, overwritingInput: true)
        // (gradHead held dz, which is spent.)
        let dDecOut = headMask.applied(to: dHeadIn, using: gradHead, count: batch * C * N * Dd)
        let dDecIn = gradDecoderIn.reserve(batch * C * N * Dd)
        decoder.backward(dDecOut, dh: dDecIn, p)  // written, not added to

        // The adapter belongs to the decoder: it trains in fine-tuning too, but then passes nothing down.
        let hidden = batch * C * N * D
        var upstream = UnsafePointer(dDecIn)
        if let adapter {
            let d: UnsafeMutablePointer<Float>? = backboneFrozen ? nil : gradAdapter.reserve(hidden)
            adapter.backward(dy: dDecIn, x: backboneOutput!, dx: d, rows: batch * C * N, p, overwritingInput: true)
            if let d { upstream = UnsafePointer(d) }
        }
        if backboneFrozen { return }
        var spare = 0  // alternate two buffers so that a group never writes the gradient it reads
        for index in stride(from: encoderGroups.count - 1, through: 0, by: -1) {
            let target = index == 0 ? gradEmbedded.reserve(hidden) : gradBackbone[spare].reserve(hidden)
            spare ^= 1
            encoderGroups[index].backward(upstream, dh: target, p)
            upstream = UnsafePointer(target)
        }
        guard let dPast else {
            patcher.backward(dy: upstream, x: patches.pointer, dx: nil, rows: batch * C * N, p)
            return
        }
        let dPatched = gradPatches.reserve(batch * C * N * P)
        patcher.backward(dy: upstream, x: patches.pointer, dx: dPatched, rows: batch * C * N, p, overwritingInput: true)
        let dScaled = scaler == nil ? dPast : gradScaled.reserve(batch * L * C)
        if scaler != nil { dScaled.update(repeating: 0, count: batch * L * C) }
        let start = L - N * P
        for b in 0..<batch {
            for c in 0..<C {
                for i in 0..<N {
                    let g = dPatched + ((b * C + c) * N + i) * P
                    for j in 0..<P { dScaled[(b * L + start + i * P + j) * C + c] += g[j] }
                }
            }
        }
        scaler?.normalizeBackward(dy: dScaled, dx: dPast, includeDenormalize: true, scratch: scratch, p)
    }
}
