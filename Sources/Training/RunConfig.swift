import Corpus
import Foundation
import Models
import NN
import TTM
import Yams

/// A run configuration (`configs/*.yaml`): model, data, training, checkpointing, fine-tuning, logging.
/// Every key is checked: unknown keys, wrong types and out-of-range values are errors naming the key path.
public struct RunConfig: Sendable {
    public enum Schedule: String, CaseIterable, Sendable { case constant, cosine, oneCycle = "one-cycle" }

    public struct Data: Sendable {
        /// Prepared folders (or globs of them) to pretrain on.
        public var shards: [String]
        /// Channel-independent windows (every channel its own series) or all channels together.
        public var view: WindowIndex.View = .univariate
        /// Per-corpus balancing: at most this many windows of each prepared folder per epoch (nil: every window).
        public var windowsPerCorpus: Int?
    }

    public struct Training: Sendable {
        public var globalBatchSize: Int
        public var learningRate: Float
        public var warmupSteps: Int = 0
        public var schedule: Schedule = .cosine
        /// Exactly one of steps and epochs.
        public var steps: Int?
        public var epochs: Int?
        public var weightDecay: Float = 0.01
        public var gradientClip: Float? = 1.0
        public var seed: UInt64 = 42
        public var validationEvery: Int = 0
        public var validationBatches: Int = 8
        public var checksumEvery: Int = 25
        /// Where the loss is measured: `standardized` divides errors by the train std of the window's dataset
        /// and channel (what evaluation reports), so series of very different magnitudes weigh alike;
        /// `original` uses raw units.
        public var lossSpace: LossSpace = .standardized
        /// Threads per rank: each rank's share of a batch is split among them (model replicas, one gradient
        /// arena each, added in thread order). For a machine run as one rank; with one rank per core keep 1.
        public var threads: Int = 1
        /// Windows per forward/backward pass (`Engine.windowsPerPass`); nil: 16 series per pass.
        public var microBatch: Int?
    }

    public enum LossSpace: String, CaseIterable, Sendable { case standardized, original }

    public struct Checkpointing: Sendable {
        public var directory: String
        public var every: Int
        public var keep: Int = 3
    }

    public struct FineTune: Sendable {
        /// A prepared folder of the target dataset (multivariate view).
        public var data: String
        public var epochs: Int = 10
        public var learningRate: Float = 1e-3
        public var batchSize: Int = 64
        public var headDropout: Float?
        public var decoderMode: TTMConfig.ChannelMode?
        public var patience: Int = 3
        public var output: String
        /// For `ttm finetune`: the checkpoint to start from (ours or PyTorch's); after pretraining, the final model.
        public var checkpoint: String?
        public var maxBatchesPerEpoch: Int?
    }

    public struct Logging: Sendable {
        public var metrics: String?
        public var progressEvery: Int = 10
    }

    public var source: String
    public var model: ModelConfig
    public var data: Data
    public var training: Training
    public var checkpointing: Checkpointing?
    public var finetune: FineTune?
    public var logging: Logging

    public static func load(_ path: String) throws -> RunConfig {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError(key: "(file)", message: FileManager.default.fileExists(atPath: path) ? "\(path): cannot read" : "\(path): no such file")
        }
        return try RunConfig(yaml: text, source: path)
    }

    public init(yaml: String, source: String) throws {
        self.source = source
        let root: Any?
        do { root = try Yams.load(yaml: yaml) } catch {
            throw ConfigError(key: "(file)", message: "\(source) is not valid YAML: \(error)")
        }
        guard let top = root as? [String: Any] else { throw ConfigError(key: "(file)", message: "\(source): expected a mapping at the top level") }
        var sections = Section(top, path: "", source: source)
        try sections.allow(["model", "data", "training", "checkpointing", "finetune", "logging"])

        let modelFields = try sections.requiredMapping("model").json()
        do { model = try ModelConfig(modelSection: modelFields, source: source) } catch let error as ConfigError {
            throw ConfigError(key: "model." + error.key, message: error.message)  // the full key path
        }

        var d = try sections.requiredSection("data")
        try d.allow(["shards", "view", "windows_per_corpus"])
        data = Data(shards: try d.stringList("shards"), view: try d.choice("view", default: .univariate))
        data.windowsPerCorpus = try d.optionalInt("windows_per_corpus", min: 1)

        var t = try sections.requiredSection("training")
        try t.allow(["global_batch_size", "learning_rate", "warmup_steps", "schedule", "steps", "epochs", "weight_decay",
                     "gradient_clip", "seed", "validation_every", "validation_batches", "checksum_every", "loss_space", "threads",
                     "micro_batch"])
        training = Training(globalBatchSize: try t.int("global_batch_size", min: 1), learningRate: try t.float("learning_rate", min: 0))
        training.warmupSteps = try t.int("warmup_steps", default: 0, min: 0)
        training.schedule = try t.choice("schedule", default: .cosine)
        training.steps = try t.optionalInt("steps", min: 1)
        training.epochs = try t.optionalInt("epochs", min: 1)
        if (training.steps == nil) == (training.epochs == nil) {
            throw ConfigError(key: "training.steps", message: "give exactly one of training.steps and training.epochs")
        }
        training.weightDecay = try t.float("weight_decay", default: 0.01, min: 0)
        training.gradientClip = try t.optionalFloat("gradient_clip", min: 0)
        training.seed = UInt64(try t.int("seed", default: 42, min: 0))
        training.validationEvery = try t.int("validation_every", default: 0, min: 0)
        training.validationBatches = try t.int("validation_batches", default: 8, min: 1)
        training.checksumEvery = try t.int("checksum_every", default: 25, min: 1)
        training.lossSpace = try t.choice("loss_space", default: .standardized)
        training.threads = try t.int("threads", default: 1, min: 1)
        training.microBatch = try t.optionalInt("micro_batch", min: 1)

        if var c = try sections.optionalSection("checkpointing") {
            try c.allow(["directory", "every", "keep"])
            checkpointing = Checkpointing(directory: try c.requiredString("directory"), every: try c.int("every", min: 1),
                                          keep: try c.int("keep", default: 3, min: 1))
        }
        if var f = try sections.optionalSection("finetune") {
            try f.allow(["data", "epochs", "learning_rate", "batch_size", "head_dropout", "decoder_mode", "patience", "output",
                         "checkpoint", "max_batches_per_epoch"])
            var fine = FineTune(data: try f.requiredString("data"), output: try f.requiredString("output"))
            fine.epochs = try f.int("epochs", default: 10, min: 1)
            fine.learningRate = try f.float("learning_rate", default: 1e-3, min: 0)
            fine.batchSize = try f.int("batch_size", default: 64, min: 1)
            fine.headDropout = try f.optionalFloat("head_dropout", min: 0)
            if let rate = fine.headDropout, rate >= 1 { throw ConfigError(key: "finetune.head_dropout", message: "must be below 1, got \(rate)") }
            fine.decoderMode = try f.optionalChoice("decoder_mode")
            fine.patience = try f.int("patience", default: 3, min: 1)
            fine.checkpoint = try f.optionalString("checkpoint", oneOf: nil)
            fine.maxBatchesPerEpoch = try f.optionalInt("max_batches_per_epoch", min: 1)
            finetune = fine
        }
        logging = Logging()
        if var l = try sections.optionalSection("logging") {
            try l.allow(["metrics", "progress_every"])
            logging.metrics = try l.optionalString("metrics", oneOf: nil)
            logging.progressEvery = try l.int("progress_every", default: 10, min: 1)
        }
    }
}

/// One mapping of the YAML document, with typed accessors whose errors name the key path.
struct Section {
    let values: [String: Any]
    let path: String
    let source: String

    init(_ values: [String: Any], path: String, source: String) {
        self.values = values
        self.path = path
        self.source = source
    }

    func key(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    mutating func allow(_ names: Set<String>) throws {
        // `key:` with nothing after it is YAML's null: a forgotten value, not a request for the default.
        if let empty = values.first(where: { $0.value is NSNull })?.key {
            throw ConfigError(key: key(empty), message: "has no value in \(source) (give one, or leave the key out for its default)")
        }
        for name in values.keys.sorted() where !names.contains(name) {
            throw ConfigError(key: key(name), message: "unknown key in \(source) (known: \(names.sorted().joined(separator: ", ")))")
        }
    }

    func requiredMapping(_ name: String) throws -> Section {
        guard let value = values[name] else { throw ConfigError(key: key(name), message: "missing from \(source)") }
        guard let mapping = value as? [String: Any] else { throw ConfigError(key: key(name), message: "must be a mapping") }
        return Section(mapping, path: key(name), source: source)
    }

    func requiredSection(_ name: String) throws -> Section { try requiredMapping(name) }

    func optionalSection(_ name: String) throws -> Section? {
        guard values[name] != nil else { return nil }
        return try requiredMapping(name)
    }

    /// The mapping as JSON values (for the model section, validated by TTMConfig).
    func json() throws -> [String: JSONValue] {
        func convert(_ value: Any, _ at: String) throws -> JSONValue {
            switch value {
            case let v as Bool: return .bool(v)
            case let v as Int: return .number(Double(v))
            case let v as Double:
                guard v.isFinite else { throw ConfigError(key: at, message: "must be a finite number, got \(v)") }
                return .number(v)
            case let v as String: return .string(v)
            case let v as [Any]: return .array(try v.map { try convert($0, at) })
            case let v as [String: Any]: return .object(try v.mapValues { try convert($0, at) })
            case is NSNull: return .null
            default: throw ConfigError(key: at, message: "unsupported value \(value)")
            }
        }
        return try Dictionary(uniqueKeysWithValues: values.map { ($0.key, try convert($0.value, key($0.key))) })
    }

    func optionalInt(_ name: String, min: Int) throws -> Int? {
        guard let value = values[name], !(value is NSNull) else { return nil }
        guard let number = value as? Int, !(value is Bool) else { throw ConfigError(key: key(name), message: "must be an integer, got \(value)") }
        guard number >= min else { throw ConfigError(key: key(name), message: "must be at least \(min), got \(number)") }
        return number
    }

    func int(_ name: String, default fallback: Int? = nil, min: Int) throws -> Int {
        if let value = try optionalInt(name, min: min) { return value }
        guard let fallback else { throw ConfigError(key: key(name), message: "missing from \(source)") }
        return fallback
    }

    func optionalFloat(_ name: String, min: Float) throws -> Float? {
        guard let value = values[name], !(value is NSNull) else { return nil }
        let number: Double
        if let v = value as? Double { number = v } else if let v = value as? Int, !(value is Bool) { number = Double(v) } else if let text = value as? String, let v = Double(text) {
            number = v  // YAML 1.1 reads 1e-3 (no dot) as a string
        } else {
            throw ConfigError(key: key(name), message: "must be a number, got \(value)")
        }
        guard number.isFinite, Float(number) >= min else { throw ConfigError(key: key(name), message: "must be at least \(min), got \(number)") }
        return Float(number)
    }

    func float(_ name: String, default fallback: Float? = nil, min: Float) throws -> Float {
        if let value = try optionalFloat(name, min: min) { return value }
        guard let fallback else { throw ConfigError(key: key(name), message: "missing from \(source)") }
        return fallback
    }

    func optionalString(_ name: String, oneOf choices: [String]?) throws -> String? {
        guard let value = values[name], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw ConfigError(key: key(name), message: "must be a string, got \(value)") }
        if let choices, !choices.contains(text) {
            throw ConfigError(key: key(name), message: "'\(text)' is not one of \(choices.joined(separator: ", "))")
        }
        return text
    }

    func requiredString(_ name: String) throws -> String {
        guard let text = try optionalString(name, oneOf: nil) else { throw ConfigError(key: key(name), message: "missing from \(source)") }
        return text
    }

    /// One of an enumeration's raw values; the error lists them.
    func optionalChoice<T: RawRepresentable & CaseIterable>(_ name: String) throws -> T? where T.RawValue == String {
        try optionalString(name, oneOf: T.allCases.map(\.rawValue)).flatMap(T.init(rawValue:))
    }

    func choice<T: RawRepresentable & CaseIterable>(_ name: String, default fallback: T) throws -> T where T.RawValue == String {
        try optionalChoice(name) ?? fallback
    }

    func stringList(_ name: String) throws -> [String] {
        switch values[name] {
        case let text as String: return [text]
        case let list as [Any] where list.isEmpty: throw ConfigError(key: key(name), message: "is empty; name at least one path")
        case let list as [Any]:
            return try list.map {
                guard let text = $0 as? String else { throw ConfigError(key: key(name), message: "must be a list of paths, got \($0)") }
                return text
            }
        case nil: throw ConfigError(key: key(name), message: "missing from \(source)")
        case let other?: throw ConfigError(key: key(name), message: "must be a path or a list of paths, got \(other)")
        }
    }
}
