import Checkpoint
import Foundation
import NN
import Optimizers

/// What a training checkpoint holds besides the model folder: enough to continue exactly where the run stopped.
public struct TrainingState: Codable, Equatable, Sendable {
    public var step: Int
    public var ranks: Int
    public var seed: UInt64
    public var globalBatchSize: Int
    public var totalSteps: Int
    public var schedule: String
    public var learningRate: Float
    public var warmupSteps: Int
    public var weightDecay: Float
    public var trainWindows: Int
    /// The model's config.json text: a resumed run must build the same architecture.
    public var modelConfig: String

    public init(step: Int, ranks: Int, seed: UInt64, globalBatchSize: Int, totalSteps: Int, schedule: String, learningRate: Float,
                warmupSteps: Int, weightDecay: Float, trainWindows: Int, modelConfig: String) {
        self.step = step
        self.ranks = ranks
        self.seed = seed
        self.globalBatchSize = globalBatchSize
        self.totalSteps = totalSteps
        self.schedule = schedule
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.weightDecay = weightDecay
        self.trainWindows = trainWindows
        self.modelConfig = modelConfig
    }

    public static let file = "training_state.json"

    /// Differences that make resuming meaningless, as "key: checkpoint value vs config value".
    public func incompatibilities(with other: TrainingState) -> [String] {
        var out: [String] = []
        func compare<T: Equatable>(_ name: String, _ a: T, _ b: T) { if a != b { out.append("\(name): checkpoint \(a), config \(b)") } }
        compare("training.seed", seed, other.seed)
        compare("training.global_batch_size", globalBatchSize, other.globalBatchSize)
        compare("total steps", totalSteps, other.totalSteps)
        compare("training.schedule", schedule, other.schedule)
        compare("training.learning_rate", learningRate, other.learningRate)
        compare("training.warmup_steps", warmupSteps, other.warmupSteps)
        compare("training.weight_decay", weightDecay, other.weightDecay)
        compare("training windows (data)", trainWindows, other.trainWindows)
        if modelConfig != other.modelConfig { out.append("model: the checkpoint's architecture differs from the config's") }
        return out
    }
}

/// Training checkpoints `step-00000200` under a run's checkpoint directory: each is a model folder (so any
/// command reads it like a final model) plus `training_state.json` and `optimizer.safetensors`.
public struct TrainingCheckpoints: Sendable {
    public let directory: String
    public static let optimizerFile = "optimizer.safetensors"

    public init(directory: String) { self.directory = directory }

    public func path(step: Int) -> String { URL(fileURLWithPath: directory).appendingPathComponent(String(format: "step-%08d", step)).path }

    /// Complete checkpoints (a folder only gets its name once complete), oldest first.
    public func complete() -> [(step: Int, path: String)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)) else { return nil }
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path + "/" + TrainingState.file) else { return nil }
            return (step, path)
        }.sorted { $0.0 < $1.0 }
    }

    /// Writes the checkpoint of `state.step` whole, then removes all but the newest `keep`.
    public func save(_ model: LoadedModel, optimizer: AdamW, state: TrainingState, keep: Int) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw CheckpointError(path: directory, message: "cannot create the checkpoint folder: \(describe(error))")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try ModelFolder.save(model, to: path(step: state.step),
                             extraFiles: [TrainingState.file: try encoder.encode(state), Self.optimizerFile: optimizer.stateData()])
        for old in complete().dropLast(keep) { try? FileManager.default.removeItem(atPath: old.path) }
    }

    /// Loads weights, optimizer moments and state from a checkpoint folder into an existing model.
    public static func load(_ path: String, into model: LoadedModel, optimizer: AdamW) throws -> TrainingState {
        let statePath = path + "/" + TrainingState.file
        guard let data = FileManager.default.contents(atPath: statePath) else {
            throw CheckpointError(path: path, message: "no \(TrainingState.file): not a training checkpoint")
        }
        let state: TrainingState
        do { state = try JSONDecoder().decode(TrainingState.self, from: data) } catch {
            throw CheckpointError(path: statePath, message: "unreadable: \(error)")
        }
        try ModelFolder.loadWeights(path + "/" + ModelFolder.weightsFile, kind: model.config.kind, into: model.store)
        try optimizer.restore(from: try SafeTensors.read(contentsOf: path + "/" + optimizerFile))
        return state
    }
}
