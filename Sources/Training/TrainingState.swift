import Checkpoint
import Foundation
import NN
import Optimizers
import TTM

/// What a checkpoint holds besides the model folder: enough to continue exactly where the run stopped.
struct TrainingState: Codable, Equatable {
    var step: Int
    var ranks: Int
    var seed: UInt64
    var globalBatchSize: Int
    var totalSteps: Int
    var schedule: String
    var learningRate: Float
    var warmupSteps: Int
    var weightDecay: Float
    var trainWindows: Int
    var modelConfig: String

    static let file = "training_state.json"
    static let optimizerFile = "optimizer.safetensors"

    /// Differences that make resuming meaningless, as "key: checkpoint value vs config value".
    func incompatibilities(with other: TrainingState) -> [String] {
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

/// Checkpoint folders `step-00000200` under the run's checkpoint directory, written by rank 0.
struct CheckpointFolder {
    let directory: String

    func path(step: Int) -> String { URL(fileURLWithPath: directory).appendingPathComponent(String(format: "step-%08d", step)).path }

    /// Complete checkpoints (a folder only gets its name once complete), oldest first.
    func complete() -> [(step: Int, path: String)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { name -> (Int, String)? in
            guard name.hasPrefix("step-"), let step = Int(name.dropFirst(5)) else { return nil }
            let path = URL(fileURLWithPath: directory).appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: path + "/" + TrainingState.file) else { return nil }
            return (step, path)
        }.sorted { $0.0 < $1.0 }
    }

    func save(model: TTMModel, store: ParameterStore, optimizer: AdamW, state: TrainingState, keep: Int) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let moments = SafeTensors.encode([
            .init(name: "exp_avg", shape: [optimizer.count], values: Array(UnsafeBufferPointer(start: optimizer.firstMoment, count: optimizer.count))),
            .init(name: "exp_avg_sq", shape: [optimizer.count], values: Array(UnsafeBufferPointer(start: optimizer.secondMoment, count: optimizer.count))),
        ], metadata: ["format": "pt", "step": String(optimizer.step)])
        try TTMCheckpoint.save(model, store, to: path(step: state.step),
                               extraFiles: [TrainingState.file: try encoder.encode(state), TrainingState.optimizerFile: moments])
        for old in complete().dropLast(keep) { try? FileManager.default.removeItem(atPath: old.path) }
    }

    /// Loads weights, moments and state from a checkpoint folder into an existing model's store.
    static func load(_ path: String, store: ParameterStore, optimizer: AdamW) throws -> TrainingState {
        guard let data = FileManager.default.contents(atPath: path + "/" + TrainingState.file) else {
            throw CheckpointError(path: path, message: "no \(TrainingState.file): not a training checkpoint")
        }
        let state: TrainingState
        do { state = try JSONDecoder().decode(TrainingState.self, from: data) } catch {
            throw CheckpointError(path: path + "/" + TrainingState.file, message: "unreadable: \(error)")
        }
        try TTMCheckpoint.loadWeights(path + "/" + TTMCheckpoint.weightsFile, into: store)
        let moments = try SafeTensors.read(contentsOf: path + "/" + TrainingState.optimizerFile)
        let first = try moments.floats("exp_avg"), second = try moments.floats("exp_avg_sq")
        guard first.count == optimizer.count, second.count == optimizer.count, let stepText = moments.metadata["step"], let step = Int(stepText) else {
            throw CheckpointError(path: path + "/" + TrainingState.optimizerFile, message: "optimizer state does not match the model")
        }
        optimizer.restore(step: step, first: first, second: second)
        return state
    }
}
