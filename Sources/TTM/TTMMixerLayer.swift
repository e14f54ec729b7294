import NN

/// One TTM mixer layer on h [batch, channels, patches n, width d]: in mix_channel mode first a channel
/// mixer (gate before its MLP), then a patch mixer (when n > 1) and a feature mixer (gates after the MLP);
/// each is residual.
final class TTMMixerLayer {
    let channelMixer: GatedMLPBlock?
    let patchMixer: GatedMLPBlock?
    let featureMixer: GatedMLPBlock
    let patches: Int
    let width: Int

    private var blocks: [GatedMLPBlock] = []
    private var inputs: [UnsafePointer<Float>] = []
    private let chain = ChainGradients()
    private var count = 0

    init(_ name: String, patches n: Int, width d: Int, channels: Int, mixChannels: Bool, config: TTMConfig,
         dropout: Float, scratch: BlockScratch, layout: inout ParameterLayout) {
        patches = n
        width = d
        let e = config.expansionFactor, gated = config.gatedAttention, eps = config.normEpsilon
        // Declared in IBM's state-dict order: patch, feature, channel.
        patchMixer = n > 1
            ? GatedMLPBlock(name + ".patch_mixer", axis: .patches, width: d, mixedSize: n, expansion: e, gated: gated,
                            gateFirst: false, dropout: dropout, epsilon: eps, scratch: scratch, layout: &layout)
            : nil
        featureMixer = GatedMLPBlock(name + ".feature_mixer", axis: .features, width: d, mixedSize: d, expansion: e,
                                     gated: gated, gateFirst: false, dropout: dropout, epsilon: eps, scratch: scratch, layout: &layout)
        channelMixer = mixChannels
            ? GatedMLPBlock(name + ".channel_feature_mixer", axis: .channels, width: d, mixedSize: channels, expansion: e,
                            gated: gated, gateFirst: true, dropout: dropout, epsilon: eps, scratch: scratch, layout: &layout)
            : nil
        blocks = [channelMixer, patchMixer, featureMixer].compactMap { $0 }
        inputs.reserveCapacity(blocks.count)
    }

    func initialize(_ p: ParameterStore, seed: UInt64) {
        for block in blocks { block.initialize(p, seed: seed) }
    }

    func forward(_ h: UnsafePointer<Float>, batch: Int, channels: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        count = batch * channels * patches * width
        var x = h
        for block in blocks { x = block.forward(x, batch: batch, channels: channels, patches: patches, width: width, mode: mode, p) }
        return x
    }

    /// dh = the input gradient (written, like every block's).
    func backward(_ dOut: UnsafePointer<Float>, dh: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        chain.backward(layers: blocks.count, count: count, dy: dOut, dx: dh, layersWrite: true) { index, dy, dx in
            blocks[index].backward(dy, dh: dx!, p)
        }
    }
}

/// Mixer layers one after another, on a fixed (patches, width) view of the hidden state.
final class TTMMixerStack {
    let layers: [TTMMixerLayer]
    private let chain = ChainGradients()
    private var count = 0

    init(layers: [TTMMixerLayer]) { self.layers = layers }

    func forward(_ h: UnsafePointer<Float>, batch: Int, channels: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        count = batch * channels * (layers.first.map { $0.patches * $0.width } ?? 0)
        var x = h
        for layer in layers { x = layer.forward(x, batch: batch, channels: channels, mode: mode, p) }
        return x
    }

    /// dh = the input gradient (written, like every layer's).
    func backward(_ dOut: UnsafePointer<Float>, dh: UnsafeMutablePointer<Float>, _ p: ParameterStore) {
        chain.backward(layers: layers.count, count: count, dy: dOut, dx: dh, layersWrite: true) { index, dy, dx in
            layers[index].backward(dy, dh: dx!, p)
        }
    }
}
