import Flow
import Foundation
import NN
import TSMixer
import TTM

/// The architecture of any model the product trains, by kind. This is the one place that lists the kinds:
/// everything model-specific that is not behind `Forecaster` (building, config files, the debug shrink, the
/// fine-tuning variant, channel-count changes) is a switch here.
public enum ModelConfig: Equatable, Sendable {
    case ttm(TTMConfig)
    case tsmixer(TSMixer.Config)
    case mixerflow(MixerFlowConfig)
    case glow(GlowConfig)

    public enum Kind: String, CaseIterable, Sendable { case ttm, tsmixer, mixerflow, glow }

    public var kind: Kind {
        switch self {
        case .ttm: .ttm
        case .tsmixer: .tsmixer
        case .mixerflow: .mixerflow
        case .glow: .glow
        }
    }

    /// A fresh (uninitialised) model of this architecture.
    public func build() throws -> any TrainableModel {
        switch self {
        case .ttm(let c): try TTMModel(config: c)
        case .tsmixer(let c): try TSMixer(config: c)
        case .mixerflow(let c): FlowModel(kind: "mixerflow", network: MixerFlow(c))
        case .glow(let c): FlowModel(kind: "glow", network: Glow(c))
        }
    }

    /// Channels of a forecaster's windows, or of a flow's images.
    public var channels: Int {
        switch self {
        case .ttm(let c): c.numInputChannels
        case .tsmixer(let c): c.nFeatures
        case .mixerflow(let c): c.channels
        case .glow(let c): c.channels
        }
    }

    /// Whether the model forecasts series (TTM, TSMixer) rather than modelling images (the flows, which have a shape).
    public var isForecaster: Bool { imageShape == nil }

    /// A flow's image shape (nil for a forecaster).
    public var imageShape: (height: Int, width: Int, channels: Int)? {
        switch self {
        case .ttm, .tsmixer: nil
        case .mixerflow(let c): (c.height, c.width, c.channels)
        case .glow(let c): (c.height, c.width, c.channels)
        }
    }

    /// The run config's `model` section: `kind` (ttm, the default, or tsmixer) and that kind's keys.
    public init(modelSection fields: [String: JSONValue], source: String) throws {
        var rest = fields
        let kindValue = rest.removeValue(forKey: "kind") ?? .string("ttm")
        guard case .string(let text) = kindValue, let kind = Kind(rawValue: text) else {
            throw ConfigError(key: "kind", message: "\(kindValue) is not a model kind (known: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        switch kind {
        case .ttm: self = .ttm(try TTMConfig(modelSection: rest, source: source))
        case .tsmixer: self = .tsmixer(try TSMixer.Config(fields: rest, source: source))
        case .mixerflow: self = .mixerflow(try MixerFlowConfig(fields: rest, source: source))
        case .glow: self = .glow(try GlowConfig(fields: rest, source: source))
        }
    }

    /// A model folder's `config.json`: IBM's TinyTimeMixer config (`model_type: tinytimemixer`, or a config
    /// without model_type, as older granite-tsfm wrote) or a Keras-serialised KerasFactory TSMixer
    /// (`class_name: TSMixer`). Anything else is refused naming the key that decided.
    public init(configJSON data: Data, source: String) throws {
        let fields = try JSONValue.object(from: data)
        if TSMixer.Config.isSerializedTSMixer(fields) {
            self = .tsmixer(try TSMixer.Config(serialized: fields, source: source))
        } else if case .string(let type)? = fields["model_type"], type == "mixerflow" || type == "glow" {
            var rest = fields
            rest.removeValue(forKey: "model_type")
            self = type == "glow" ? .glow(try GlowConfig(fields: rest, source: source)) : .mixerflow(try MixerFlowConfig(fields: rest, source: source))
        } else if fields["class_name"] != nil {
            throw ConfigError(key: "class_name", message: "\(source) holds a Keras \(fields["class_name"]!), not a model ttm knows (TSMixer)")
        } else if let type = fields["model_type"], type != .string("tinytimemixer") {
            throw ConfigError(key: "model_type", message: "\(source) holds a \(type) model; ttm reads tinytimemixer (granite-tsfm), Keras TSMixer, mixerflow and glow folders")
        } else {
            self = .ttm(try TTMConfig(json: data, source: source))
        }
    }

    /// `config.json` in the kind's own format (IBM's for TTM, Keras' serialisation for TSMixer).
    public func jsonData() throws -> Data {
        switch self {
        case .ttm(let c): try c.jsonData()
        case .tsmixer(let c): try c.jsonData()
        case .mixerflow(let c): try Self.flowJSON("mixerflow", c.fields)
        case .glow(let c): try Self.flowJSON("glow", c.fields)
        }
    }

    private static func flowJSON(_ type: String, _ fields: [String: JSONValue]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(fields.merging(["model_type": .string(type)]) { a, _ in a })
    }

    /// The same model shrunk for `--debug`: a tiny backbone with the same inputs and outputs.
    public func debugVersion() -> ModelConfig {
        switch self {
        case .ttm(let c): return .ttm(c.debugVersion())
        case .tsmixer(var c):
            c.nBlocks = min(c.nBlocks, 1)
            c.ffDim = min(c.ffDim, 16)
            return .tsmixer(c)
        case .mixerflow(var c):
            c.steps = min(c.steps, 2)
            c.channelHidden = min(c.channelHidden, 16)
            c.patchHidden = min(c.patchHidden, 16)
            return .mixerflow(c)
        case .glow(var c):
            c.stepsPerLevel = min(c.stepsPerLevel, 1)
            c.hidden = min(c.hidden, 8)
            return .glow(c)
        }
    }

    /// The model applied to data with `channels` channels: a channel-independent TTM takes any count; a model
    /// that mixes channels needs its own. `what` names the model in the error.
    public func applied(toChannels channels: Int, what: String) throws -> ModelConfig {
        guard channels != self.channels else { return self }
        switch self {
        case .ttm(var c) where c.mode == .commonChannel && c.decoderMode == .commonChannel:
            c.numInputChannels = channels  // channel-independent weights apply to any number of channels
            return .ttm(c)
        case .ttm(let c):
            throw ConfigError(key: "num_input_channels", message: "\(what): a mix_channel model for \(c.numInputChannels) channels cannot forecast \(channels) channels")
        case .tsmixer(let c):
            throw ConfigError(key: "n_features", message: "\(what): a TSMixer mixes its \(c.nFeatures) channels and cannot forecast \(channels)")
        case .mixerflow, .glow:
            throw ConfigError(key: "model_type", message: "\(what): a \(kind.rawValue) models images; it does not forecast")
        }
    }

    /// The fine-tuning model for a target with `channels` channels; TTM may switch its decoder mode and head
    /// dropout (`finetune.decoder_mode`, `finetune.head_dropout`), which a TSMixer does not have.
    public func forFineTuning(channels: Int, decoderMode: TTMConfig.ChannelMode?, headDropout: Float?) throws -> ModelConfig {
        switch self {
        case .ttm(var c):
            c.numInputChannels = channels
            if let decoderMode { c.decoderMode = decoderMode }
            if let headDropout { c.headDropout = headDropout }
            return .ttm(c)
        case .tsmixer:
            if decoderMode != nil { throw ConfigError(key: "finetune.decoder_mode", message: "a TSMixer has no decoder") }
            if headDropout != nil { throw ConfigError(key: "finetune.head_dropout", message: "a TSMixer has no head dropout") }
            return try applied(toChannels: channels, what: "finetune.data")
        case .mixerflow, .glow:
            throw ConfigError(key: "finetune", message: "a \(kind.rawValue) is trained whole; it has no fine-tuning stage")
        }
    }
}
