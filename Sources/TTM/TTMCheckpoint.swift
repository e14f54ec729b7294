import Checkpoint
import Foundation
import NN

/// A Hugging Face model folder: `config.json` (IBM's TinyTimeMixer config) and `model.safetensors`
/// (IBM's state-dict names, PyTorch's [out, in] Linear layout), readable by granite-tsfm and by us.
public enum TTMCheckpoint {
    public static let configFile = "config.json"
    public static let weightsFile = "model.safetensors"

    /// Loads a model folder. Every tensor the architecture needs must be present with its shape, and no
    /// other tensor may be; errors name the file and the tensor or config field.
    public static func load(_ directory: String) throws -> (model: TTMModel, parameters: ParameterStore) {
        let folder = URL(fileURLWithPath: directory)
        let configPath = folder.appendingPathComponent(configFile).path
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw CheckpointError(path: configPath, message: FileManager.default.fileExists(atPath: directory)
                                  ? "no config.json in the checkpoint folder" : "no such checkpoint folder")
        }
        let config: TTMConfig
        do { config = try TTMConfig(json: data, source: configPath) } catch let error as ConfigError {
            throw CheckpointError(path: configPath, message: error.description)
        }
        let model = try TTMModel(config: config)
        let store = ParameterStore(layout: model.layout)
        try loadWeights(folder.appendingPathComponent(weightsFile).path, into: store)
        return (model, store)
    }

    /// Reads `model.safetensors` into a store whose layout it must match exactly.
    public static func loadWeights(_ path: String, into store: ParameterStore) throws {
        let file = try SafeTensors.read(contentsOf: path)
        let expected = Set(store.layout.views.filter { $0.trainable }.map(\.name))
        for name in file.names where !expected.contains(name) {
            throw CheckpointError(path: path, message: "unexpected tensor '\(name)' for this config")
        }
        for view in store.layout.views where view.trainable {
            guard let tensor = file[view.name] else {
                throw CheckpointError(path: path, message: "missing tensor '\(view.name)' (shape \(view.shape))")
            }
            guard tensor.shape == view.shape else {
                throw CheckpointError(path: path, message: "tensor '\(view.name)' has shape \(tensor.shape), the config needs \(view.shape)")
            }
            try file.copy(view.name, into: UnsafeMutableBufferPointer(start: store.value(view), count: view.count))
        }
    }

    /// The store's tensors as safetensors entries (non-trainable state, which TTM has none of, is skipped).
    public static func entries(_ store: ParameterStore) -> [SafeTensors.Entry] {
        store.layout.views.filter(\.trainable).map { .init(name: $0.name, shape: $0.shape, values: store.array($0)) }
    }

    /// Writes the folder atomically (see `AtomicDirectory`): a crash leaves no half-written checkpoint.
    public static func save(_ model: TTMModel, _ store: ParameterStore, to directory: String,
                            extraFiles: [String: Data] = [:]) throws {
        let files = [configFile: try model.config.jsonData(), weightsFile: SafeTensors.encode(entries(store))]
            .merging(extraFiles) { _, extra in extra }
        try AtomicDirectory.write(directory) { folder in
            for (name, data) in files { try data.write(to: folder.appendingPathComponent(name)) }
        }
    }
}
