import Checkpoint
import NN

/// `model.safetensors` of a TinyTimeMixer: IBM's state-dict names and PyTorch's [out, in] Linear layout, so the
/// folder loads in granite-tsfm and back. (The folder itself, config.json beside it, is `Models.ModelFolder`.)
public enum TTMWeights {
    /// Reads every tensor the layout needs with its shape; a missing or extra tensor is an error naming it.
    public static func load(_ file: SafeTensors, into store: ParameterStore) throws {
        let expected = Set(store.layout.views.filter { $0.trainable }.map(\.name))
        for name in file.names where !expected.contains(name) {
            throw CheckpointError(path: file.source, message: "unexpected tensor '\(name)' for this config")
        }
        for view in store.layout.views where view.trainable {
            guard let tensor = file[view.name] else {
                throw CheckpointError(path: file.source, message: "missing tensor '\(view.name)' (shape \(view.shape))")
            }
            guard tensor.shape == view.shape else {
                throw CheckpointError(path: file.source, message: "tensor '\(view.name)' has shape \(tensor.shape), the config needs \(view.shape)")
            }
            try file.copy(view.name, into: UnsafeMutableBufferPointer(start: store.value(view), count: view.count))
        }
    }

    /// The store's tensors as safetensors entries (non-trainable state, which TTM has none of, is skipped).
    public static func entries(_ store: ParameterStore) -> [SafeTensors.Entry] {
        store.layout.views.filter(\.trainable).map { .init(name: $0.name, shape: $0.shape, values: store.array($0)) }
    }
}
