import NN

/// KerasFactory's TSMixer under the engine's contract. Fine-tuning keeps the mixing layers (weights and
/// BatchNorm moving statistics) and trains the output projection, plus RevIN's affine map when it has one.
extension TSMixer: Forecaster {
    public var kind: String { "tsmixer" }
    public var contextLength: Int { config.seqLen }
    public var predictionLength: Int { config.predLen }
    public var loss: Loss { .mse }
    public var usesBatchStatistics: Bool { true }

    public func backward(_ dOutput: UnsafePointer<Float>, _ p: ParameterStore) {
        backward(dOutput, dx: nil, p)
    }

    public func freezeForFineTuning(_ p: ParameterStore) {
        bodyFrozen = true
        p.setFrozen(true, prefix: "mixing_layer_")
        for layer in body.layers {
            layer.temporal.norm.frozen = true
            layer.feature.norm.frozen = true
        }
    }

    public func firstNonFiniteStage() -> String? {
        stages.first { UnsafeBufferPointer(start: $0.output, count: $0.count).contains { !$0.isFinite } }?.name
    }

    public func summary(_ p: ParameterStore) -> [String] {
        let c = config
        return [
            "model: KerasFactory TSMixer (tsmixer)",
            "seq_len \(c.seqLen), pred_len \(c.predLen), n_features \(c.nFeatures)",
            "\(c.nBlocks) mixing layer(s), ff_dim \(c.ffDim), dropout \(c.dropout), RevIN \(c.useNorm ? (c.normAffine ? "with affine map" : "without affine map") : "off")",
            "parameters: mixing layers \(p.count(prefix: "mixing_layer_").grouped) (BatchNorm moving statistics included), output projection \(p.count(prefix: "output_projection").grouped), total \(p.count.grouped), trainable \(p.trainableCount.grouped)",
        ]
    }
}
