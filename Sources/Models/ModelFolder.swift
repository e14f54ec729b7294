import Checkpoint
import Foundation
import NN
import TSMixer
import TTM

/// A model built from a folder (or for training): its architecture, the network and its parameters.
public struct LoadedModel {
    public let config: ModelConfig
    public let network: any TrainableModel
    public let store: ParameterStore

    /// The network as a forecaster; a flow is refused naming `what` (the folder or config that gave it).
    public func forecaster(_ what: String) throws -> any Forecaster {
        guard let forecaster = network as? any Forecaster else {
            throw CheckpointError(path: what, message: "holds a \(config.kind.rawValue) model, which models images and does not forecast")
        }
        return forecaster
    }

    /// A fresh model of `config`, parameters drawn from `seed`.
    public init(config: ModelConfig, seed: UInt64) throws {
        try self.init(config: config)
        network.initialize(store, seed: seed)
    }

    /// The model of `config` with its parameter arena allocated (all zero), once the arena is known to fit.
    init(config: ModelConfig) throws {
        self.config = config
        network = try config.build()
        try Self.checkFitsInMemory(network.layout)
        store = ParameterStore(layout: network.layout)
    }

    /// Training holds four Floats per parameter (value, gradient, two AdamW moments): refuse an architecture
    /// whose arena alone would not fit in this machine's memory, before allocating it.
    static func checkFitsInMemory(_ layout: ParameterLayout) throws {
        let bytes = Double(layout.count) * 16, memory = Double(ProcessInfo.processInfo.physicalMemory)
        if bytes > memory {
            throw ConfigError(key: "model", message: "the architecture has \(layout.count.grouped) parameters, which need \(String(format: "%.1f", bytes / 1e9)) GB to train; this machine has \(String(format: "%.1f", memory / 1e9)) GB")
        }
    }

    /// This model's weights in a model of another architecture (fewer channels, another decoder mode): every
    /// tensor whose name and shape match is copied; returns the new model and the names that got nothing.
    public func transferred(to other: ModelConfig, seed: UInt64) throws -> (LoadedModel, fresh: [String]) {
        let target = try LoadedModel(config: other, seed: seed)
        let fresh = target.store.copyMatching(from: store)
        return (target, fresh)
    }

    /// This model for data with `channels` channels: itself when they match; a channel-independent model's
    /// weights in a model of that width; otherwise an error naming the key (a model that mixes channels).
    /// `what` names the model and the data in the error.
    public func fitted(toChannels channels: Int, what: String) throws -> LoadedModel {
        let target = try config.applied(toChannels: channels, what: what)
        guard target != config else { return self }
        let (adapted, fresh) = try transferred(to: target, seed: 0)
        if let unfit = fresh.first { throw CheckpointError(path: what, message: "tensor \(unfit) does not fit \(channels) channels") }
        return adapted
    }
}

/// A model folder: `config.json` in the kind's own format and `model.safetensors` named as that kind's
/// reference names its tensors (IBM's state dict for TTM, Keras variable paths for TSMixer), so that the folder
/// loads in granite-tsfm or Keras and back. Written whole or not at all.
public enum ModelFolder {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"

    /// The architecture in a folder's config.json.
    public static func config(at directory: String) throws -> ModelConfig {
        let path = URL(fileURLWithPath: directory).appendingPathComponent(configFile).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError(path: path, message: FileManager.default.fileExists(atPath: directory)
                                  ? "no config.json in the checkpoint folder" : "no such checkpoint folder")
        }
        do { return try ModelConfig(configJSON: data, source: path) } catch let error as ConfigError {
            throw CheckpointError(path: path, message: error.description)
        }
    }

    /// Loads a folder of any kind. Every tensor the architecture needs must be there with its shape, and no other.
    public static func load(_ directory: String) throws -> LoadedModel {
        let model = try LoadedModel(config: config(at: directory))
        let store = model.store
        let weights = URL(fileURLWithPath: directory).appendingPathComponent(weightsFile).path
        try loadWeights(weights, kind: model.config.kind, into: store)
        // A model with NaN or infinite weights forecasts nothing usable: refuse it by tensor name.
        if let bad = store.layout.views.first(where: { view in UnsafeBufferPointer(start: store.value(view), count: view.count).contains { !$0.isFinite } }) {
            throw CheckpointError(path: weights, message: "tensor '\(bad.name)' holds NaN or infinite values")
        }
        return model
    }

    /// Reads a `model.safetensors` named as `kind`'s reference names its tensors into `store`.
    public static func loadWeights(_ path: String, kind: ModelConfig.Kind, into store: ParameterStore) throws {
        let file = try SafeTensors.read(contentsOf: path)
        switch kind {
        case .ttm: try TTMWeights.load(file, into: store)
        case .tsmixer: try TSMixerWeights.load(file, into: store)
        case .mixerflow, .glow: try FlowWeights.load(file, into: store)
        }
    }

    public static func weights(_ kind: ModelConfig.Kind, _ store: ParameterStore) -> Data {
        switch kind {
        case .ttm: SafeTensors.encode(TTMWeights.entries(store))
        case .tsmixer: SafeTensors.encode(TSMixerWeights.entries(store), metadata: ["format": "keras"])
        case .mixerflow, .glow: SafeTensors.encode(FlowWeights.entries(store))
        }
    }

    /// Writes the folder atomically with any `extraFiles` beside config.json and model.safetensors.
    public static func save(_ model: LoadedModel, to directory: String, extraFiles: [String: Data] = [:]) throws {
        let files = [configFile: try model.config.jsonData(), weightsFile: weights(model.config.kind, model.store)]
            .merging(extraFiles) { _, extra in extra }
        try AtomicDirectory.write(directory) { folder in
            for (name, data) in files { try data.write(to: folder.appendingPathComponent(name)) }
        }
    }
}
