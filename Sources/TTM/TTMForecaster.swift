import NN

/// TTM under the engine's contract: past → forecast, the config's loss, fine-tuning freezes the backbone.
extension TTMModel: Forecaster {
    public var kind: String { "ttm" }
    public var contextLength: Int { config.contextLength }
    public var predictionLength: Int { config.predictionLength }
    public var channels: Int { config.numInputChannels }
    public var loss: Loss { config.loss }

    public func backward(_ dOutput: UnsafePointer<Float>, _ p: ParameterStore) {
        backward(dOutput, dPast: nil, p)
    }

    /// The backbone (the arena's prefix) stays as pretrained; the adapter, decoder and head train.
    public func freezeForFineTuning(_ p: ParameterStore) {
        backboneFrozen = true
        p.setFrozen(true, prefix: "backbone.")
    }

    public func summary(_ p: ParameterStore) -> [String] {
        let c = config
        let backbone = p.count(prefix: "backbone."), decoder = p.count(prefix: "decoder."), head = p.count(prefix: "head.")
        return [
            "model: TinyTimeMixer (ttm)",
            "context \(c.contextLength), horizon \(c.predictionLength), patch \(c.patchLength) (\(c.numPatches) patches), channels \(c.numInputChannels)",
            "backbone: d_model \(c.dModel), expansion \(c.expansionFactor), \(max(c.adaptivePatchingLevels, 1)) level(s) x \(c.numLayers) layers, split factors \(c.adaptiveFactors), mode \(c.mode.rawValue), dropout \(c.dropout)",
            "decoder: \(c.decoderNumLayers) layers of width \(c.decoderDModel), mode \(c.decoderMode.rawValue), head dropout \(c.headDropout)",
            "scaling \(c.scaling.rawValue), gated attention \(c.gatedAttention), loss \(c.loss.rawValue)",
            "parameters: backbone \(backbone.grouped), decoder \(decoder.grouped), head \(head.grouped), total \(p.count.grouped), trainable \(p.trainableCount.grouped)",
        ]
    }
}

extension TTMConfig {
    /// The debug version of an architecture: the same context, horizon and patches on a tiny backbone and decoder.
    public func debugVersion() -> TTMConfig {
        var c = self
        c.dModel = min(c.dModel, 16)
        c.adaptivePatchingLevels = min(c.adaptivePatchingLevels, 1)
        c.numLayers = 1
        c.decoderNumLayers = 1
        c.decoderDModel = min(c.decoderDModel, 16)
        return c
    }
}
