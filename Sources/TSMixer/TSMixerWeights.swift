import Checkpoint
import NN

/// `model.safetensors` of a TSMixer, keyed by Keras variable paths below the model
/// (`mixing_layer_0/temporal_mixer/temporal_lin/kernel`, as `variable.path` minus the model's own name) with
/// Dense kernels as Keras stores them, [in, out]; the BatchNorm moving statistics are saved too. In Keras:
/// `for v in model.weights: v.assign(tensors[v.path.split("/", 1)[1]])`.
public enum TSMixerWeights {
    /// Our tensor name (`a.b.weight`, PyTorch layout [out, in]) as a Keras variable path (`a/b/kernel`).
    static func kerasPath(_ name: String) -> String {
        let keras = name.hasSuffix(".weight") ? String(name.dropLast(7)) + ".kernel" : name
        return keras.replacingOccurrences(of: ".", with: "/")
    }

    static func isKernel(_ view: ParameterView) -> Bool { view.name.hasSuffix(".weight") && view.shape.count == 2 }

    /// A row-major [rows, cols] matrix as [cols, rows]: between PyTorch's [out, in] and Keras' [in, out] kernels.
    static func transposed(_ m: [Float], rows: Int, cols: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: m.count) { t, initialized in
            Permute.swapLastTwo(m, t.baseAddress!, batch: 1, rows: rows, cols: cols)
            initialized = m.count
        }
    }

    public static func entries(_ store: ParameterStore) -> [SafeTensors.Entry] {
        store.layout.views.map { view in
            guard isKernel(view) else { return .init(name: kerasPath(view.name), shape: view.shape, values: store.array(view)) }
            return .init(name: kerasPath(view.name), shape: [view.shape[1], view.shape[0]],
                         values: transposed(store.array(view), rows: view.shape[0], cols: view.shape[1]))
        }
    }

    /// Reads every tensor the layout needs, with its Keras shape; an extra or missing tensor is an error.
    public static func load(_ file: SafeTensors, into store: ParameterStore) throws {
        let expected = Dictionary(uniqueKeysWithValues: store.layout.views.map { (kerasPath($0.name), $0) })
        for name in file.names where expected[name] == nil {
            throw CheckpointError(path: file.source, message: "unexpected tensor '\(name)' for this config")
        }
        for (path, view) in expected.sorted(by: { $0.value.offset < $1.value.offset }) {
            let shape = isKernel(view) ? [view.shape[1], view.shape[0]] : view.shape
            guard let tensor = file[path] else {
                throw CheckpointError(path: file.source, message: "missing tensor '\(path)' (shape \(shape))")
            }
            guard tensor.shape == shape else {
                throw CheckpointError(path: file.source, message: "tensor '\(path)' has shape \(tensor.shape), the config needs \(shape)")
            }
            let values = try file.floats(path)
            store.set(view, to: isKernel(view) ? transposed(values, rows: shape[0], cols: shape[1]) : values)
        }
    }
}
