import Foundation
import NN

extension TSMixer.Config {
    /// KerasFactory's `get_config()` keys that set the architecture.
    static let architectureKeys: Set<String> = ["seq_len", "pred_len", "n_features", "n_blocks", "ff_dim", "dropout", "use_norm", "norm_affine"]
    /// Keras bookkeeping in `get_config()`: accepted and ignored.
    static let kerasBookkeeping: Set<String> = ["name", "trainable", "dtype"]
    /// The layer-level names KerasFactory's MixingLayer uses for the same settings, accepted in run configs.
    static let aliases: [String: String] = ["input_size": "seq_len", "n_series": "n_features", "n_block": "n_blocks"]

    /// From KerasFactory's `get_config()` fields (or a run config's model section, where the layer-level names
    /// input_size, n_series and n_block may stand for seq_len, n_features and n_blocks). Unknown keys, wrong
    /// types and out-of-range values are errors naming the key.
    public init(fields given: [String: JSONValue], source: String) throws {
        var fields: [String: JSONValue] = [:]
        for (key, value) in given {
            if let target = Self.aliases[key] {
                if given[target] != nil { throw ConfigError(key: key, message: "given together with '\(target)', which sets the same thing") }
                fields[target] = value
            } else if Self.architectureKeys.contains(key) {
                fields[key] = value
            } else if !Self.kerasBookkeeping.contains(key) {
                throw ConfigError(key: key, message: "unknown TSMixer field in \(source) (known: \(Self.architectureKeys.union(Self.aliases.keys).sorted().joined(separator: ", ")))")
            }
        }
        let reader = ConfigFields(fields: fields, source: source)
        self.init(seqLen: try reader.int("seq_len"), predLen: try reader.int("pred_len"), nFeatures: try reader.int("n_features", default: 1),
                  nBlocks: try reader.int("n_blocks", default: 2), ffDim: try reader.int("ff_dim", default: 64),
                  dropout: Float(try reader.double("dropout", default: 0.1)), useNorm: try reader.bool("use_norm", default: true),
                  normAffine: try reader.bool("norm_affine", default: false))
        try validate()
    }

    /// The `get_config()` dictionary KerasFactory writes for this architecture.
    public var kerasConfig: [String: JSONValue] {
        [
            "name": .string("ts_mixer"), "trainable": .bool(true),
            "dtype": .object(["module": .string("keras"), "class_name": .string("DTypePolicy"),
                              "config": .object(["name": .string("float32")]), "registered_name": .null]),
            "seq_len": .number(Double(seqLen)), "pred_len": .number(Double(predLen)), "n_features": .number(Double(nFeatures)),
            "n_blocks": .number(Double(nBlocks)), "ff_dim": .number(Double(ffDim)), "dropout": .float(dropout),
            "use_norm": .bool(useNorm), "norm_affine": .bool(normAffine),
        ]
    }

    /// `config.json` as Keras serialises the model (`keras.saving.serialize_keras_object`), so that
    /// `keras.saving.deserialize_keras_object` rebuilds it with KerasFactory imported.
    public func jsonData() throws -> Data {
        let object: [String: JSONValue] = [
            "module": .string("kerasfactory.models.TSMixer"), "class_name": .string("TSMixer"),
            "registered_name": .string("kerasfactory.models>TSMixer"), "config": .object(kerasConfig),
            "build_config": .object(["input_shape": .array([.null, .number(Double(seqLen)), .number(Double(nFeatures))])]),
        ]
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(object)
    }

    /// Whether a decoded `config.json` is a serialised KerasFactory TSMixer.
    public static func isSerializedTSMixer(_ fields: [String: JSONValue]) -> Bool {
        fields["class_name"] == .string("TSMixer")
    }

    /// Reads `config.json` as written by `jsonData()` (or by Keras for a KerasFactory TSMixer).
    public init(serialized fields: [String: JSONValue], source: String) throws {
        guard Self.isSerializedTSMixer(fields) else {
            throw ConfigError(key: "class_name", message: "\(source) does not hold a TSMixer (class_name \(fields["class_name"]?.description ?? "missing"))")
        }
        guard case .object(let config)? = fields["config"] else {
            throw ConfigError(key: "config", message: "\(source): missing or not an object")
        }
        do { try self.init(fields: config, source: source) } catch let error as ConfigError {
            throw ConfigError(key: "config." + error.key, message: error.message)
        }
    }
}
