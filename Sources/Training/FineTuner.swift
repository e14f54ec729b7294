import Checkpoint
import Corpus
import Foundation
import Models
import NN
import Optimizers

/// Fine-tuning on one target dataset, on one process, for any model kind: what the model's contract says a
/// fine-tune freezes stays fixed (TTM: the backbone; TSMixer: the mixing layers), the rest trains on the
/// target's train split through the engine's step, with early stopping on its validation split; the best
/// model is written with its validation and test metrics.
public final class FineTuner {
    public struct Result: Sendable {
        public var checkpoint: String
        public var epochs: Int
        public var bestEpoch: Int
        /// z-scored with the target's train statistics, every channel, horizon step and window.
        public var validation: ForecastMetrics
        public var test: ForecastMetrics?
    }

    let settings: RunConfig.FineTune
    let seed: UInt64
    let weightDecay: Float
    let log: (String) -> Void

    public init(settings: RunConfig.FineTune, seed: UInt64, weightDecay: Float, log: @escaping (String) -> Void) {
        self.settings = settings
        self.seed = seed
        self.weightDecay = weightDecay
        self.log = log
    }

    /// Builds the fine-tuning model from `base` (channels from the target, and for TTM the decoder mode and head
    /// dropout from the settings), copies every tensor whose name and shape match, and trains.
    public func run(from base: LoadedModel) throws -> Result {
        let corpus = try Self.openTarget(settings)
        let target = try base.config.forFineTuning(channels: corpus.channels, decoderMode: settings.decoderMode, headDropout: settings.headDropout)
        let (model, fresh) = try base.transferred(to: target, seed: seed)
        let copied = model.store.layout.views.count - fresh.count
        model.network.freezeForFineTuning(model.store)
        if let unfit = fresh.first(where: { name in model.store.layout[name].map { !model.store.needsGradient($0) && $0.trainable } ?? false }) {
            throw TrainingError("fine-tune: the base model's frozen part does not fit the target configuration (\(unfit))")
        }
        let forecaster = try model.forecaster("finetune")
        let context = forecaster.contextLength, horizon = forecaster.predictionLength
        let train = try WindowSource(corpora: [corpus], split: .train, view: .multivariate, context: context, horizon: horizon)
        let validation = try WindowSource(corpora: [corpus], split: .validation, view: .multivariate, context: context, horizon: horizon)
        let test = try WindowSource(corpora: [corpus], split: .test, view: .multivariate, context: context, horizon: horizon)
        guard train.count > 0 else { throw DataError("finetune.data: no training windows of \(context + horizon) rows in \(settings.data)") }
        guard validation.count > 0 else { throw DataError("finetune.data: no validation windows of \(context + horizon) rows in \(settings.data) (early stopping needs them)") }
        log("finetune: \(settings.data): \(corpus.channels) channels, \(train.count) train / \(validation.count) validation / \(test.count) test windows; copied \(copied) tensors, \(fresh.count) new (\(fresh.prefix(3).joined(separator: ", "))\(fresh.count > 3 ? ", ..." : "")); frozen for fine-tuning, \(model.store.trainableCount) trainable parameters")

        let optimizer = AdamW(parameterCount: model.store.count, hyperparameters: .init(learningRate: settings.learningRate, weightDecay: weightDecay))
        // The loss is the evaluation metric's: MSE z-scored with the target's train statistics.
        let engine = try Engine(model: model, optimizer: optimizer, batchCapacity: settings.batchSize, capacityKey: "finetune.batch_size",
                                weighted: true, world: nil)
        let batch = settings.batchSize
        let batches = min((train.count + batch - 1) / batch, settings.maxBatchesPerEpoch ?? Int.max)
        let store = model.store
        var best = (loss: Double.infinity, epoch: 0, values: [Float]())
        var sinceBest = 0, epochsRun = 0
        for epoch in 0..<settings.epochs {
            let permutation = EpochPermutation(count: train.count, seed: seed &+ 0xF1E, epoch: epoch)
            var sum = 0.0, seen = 0
            for b in 0..<batches {
                let n = min(batch, train.count - b * batch)
                try engine.load((0..<n).lazy.map { permutation[b * batch + $0] }, from: train)
                sum += try engine.trainStep(globalBatch: n, dropout: .init(seed: seed, step: epoch * batches + b, firstSample: 0),
                                            learningRate: nil, clip: nil) * Double(n * model.network.lossTerms)
                seen += n * model.network.lossTerms
            }
            epochsRun += 1
            let metrics = try Self.evaluate(engine, validation, corpus: corpus)
            log(String(format: "finetune: epoch %d  train loss (z-scored) %.6f  validation mse %.6f  mae %.6f", epoch + 1, sum / Double(max(seen, 1)), metrics.mse, metrics.mae))
            if metrics.mse < best.loss {
                best = (metrics.mse, epoch + 1, Array(UnsafeBufferPointer(start: store.values, count: store.count)))
                sinceBest = 0
            } else {
                sinceBest += 1
                if sinceBest >= settings.patience { log("finetune: early stop after epoch \(epoch + 1) (best \(best.epoch))"); break }
            }
        }
        best.values.withUnsafeBufferPointer { store.values.update(from: $0.baseAddress!, count: store.count) }
        let validationMetrics = try Self.evaluate(engine, validation, corpus: corpus)
        let testMetrics = test.count > 0 ? try Self.evaluate(engine, test, corpus: corpus) : nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        struct Report: Codable { var best_epoch: Int; var epochs_run: Int; var validation: ForecastMetrics; var test: ForecastMetrics? }
        let report = try encoder.encode(Report(best_epoch: best.epoch, epochs_run: epochsRun, validation: validationMetrics, test: testMetrics))
        try ModelFolder.save(model, to: settings.output, extraFiles: ["metrics.json": report])
        log(String(format: "finetune: best epoch %d; validation mse %.6f mae %.6f; test mse %@ mae %@ -> %@", best.epoch, validationMetrics.mse, validationMetrics.mae,
                   testMetrics.map { String(format: "%.6f", $0.mse) } ?? "n/a", testMetrics.map { String(format: "%.6f", $0.mae) } ?? "n/a", settings.output))
        return Result(checkpoint: settings.output, epochs: epochsRun, bestEpoch: best.epoch, validation: validationMetrics, test: testMetrics)
    }

    /// The target dataset, refusing an output path that exists (fine-tuning never replaces a folder). Pretraining
    /// calls this too, before it trains, so a bad fine-tuning section fails at once rather than after hours.
    static func openTarget(_ settings: RunConfig.FineTune) throws -> CorpusReader {
        if FileManager.default.fileExists(atPath: settings.output) {
            throw ConfigError(key: "finetune.output", message: "\(settings.output) exists; remove it or choose another path (fine-tuning never replaces a folder)")
        }
        try AtomicFile.checkParentCreatable(of: settings.output, key: "finetune.output")
        return try CorpusReader(folder: settings.data)
    }

    /// MSE and MAE of every window of `source`, z-scored with the target's train statistics.
    static func evaluate(_ engine: Engine, _ source: WindowSource, corpus: CorpusReader) throws -> ForecastMetrics {
        var errors = ErrorAccumulator(horizon: source.horizon, channels: source.channels, trainStd: corpus.trainStd)
        try engine.forEachBatch(of: source) { y, batch in
            for slot in 0..<batch.count { errors.add(prediction: y + slot * batch.futureCount, actual: batch.future + slot * batch.futureCount) }
        }
        return errors.metrics(channelNames: corpus.columns)
    }
}
