import Checkpoint
import Corpus
import Foundation
import NN
import Optimizers
import TTM

/// Fine-tuning on one target dataset, on one process: the backbone frozen (no backward through it), decoder and
/// head trained on the target's train split, early stopping on its validation split, the best model written with
/// its validation and test metrics.
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

    /// Builds the fine-tuning model from `base` (channels from the target, decoder mode and head dropout from
    /// the settings), copies every tensor whose name and shape match, and trains.
    public func run(from base: TTMModel, _ baseStore: ParameterStore) throws -> Result {
        let corpus = try CorpusReader(folder: settings.data)
        var config = base.config
        config.numInputChannels = corpus.channels
        if let mode = settings.decoderMode { config.decoderMode = mode }
        if let rate = settings.headDropout { config.headDropout = rate }
        let model = try TTMModel(config: config)
        let store = ParameterStore(layout: model.layout)
        model.initialize(store, seed: seed)
        let fresh = store.copyMatching(from: baseStore)
        let copied = store.layout.views.count - fresh.count
        if let unfit = fresh.first(where: { $0.hasPrefix("backbone.") }) {
            throw TrainingError("fine-tune: the base model's backbone does not fit the target configuration (\(unfit))")
        }
        model.backboneFrozen = true
        store.setFrozen(true, prefix: "backbone.")
        let context = config.contextLength, horizon = config.predictionLength
        let train = try WindowSource(corpora: [corpus], split: .train, view: .multivariate, context: context, horizon: horizon)
        let validation = try WindowSource(corpora: [corpus], split: .validation, view: .multivariate, context: context, horizon: horizon)
        let test = try WindowSource(corpora: [corpus], split: .test, view: .multivariate, context: context, horizon: horizon)
        guard train.count > 0 else { throw DataError("finetune.data: no training windows of \(context + horizon) rows in \(settings.data)") }
        guard validation.count > 0 else { throw DataError("finetune.data: no validation windows of \(context + horizon) rows in \(settings.data) (early stopping needs them)") }
        log("finetune: \(settings.data): \(corpus.channels) channels, \(train.count) train / \(validation.count) validation / \(test.count) test windows; copied \(copied) tensors, \(fresh.count) new (\(fresh.prefix(3).joined(separator: ", "))\(fresh.count > 3 ? ", ..." : "")); backbone frozen, \(store.trainableRanges.reduce(0) { $0 + $1.count }) trainable parameters")

        let optimizer = AdamW(parameterCount: store.count, hyperparameters: .init(learningRate: settings.learningRate, weightDecay: weightDecay))
        let c = corpus.channels
        let perPast = context * c, perFuture = horizon * c, batch = settings.batchSize
        let past = FloatBuffer(capacity: batch * perPast), future = FloatBuffer(capacity: batch * perFuture)
        let gradient = FloatBuffer(capacity: batch * perFuture)
        let batches = min((train.count + batch - 1) / batch, settings.maxBatchesPerEpoch ?? Int.max)
        let inverseStd = corpus.trainStd.map { Float($0 > 0 ? 1 / $0 : 1) }  // a constant channel is not rescaled
        var best = (loss: Double.infinity, epoch: 0, values: [Float]())
        var sinceBest = 0, epochsRun = 0
        for epoch in 0..<settings.epochs {
            let permutation = EpochPermutation(count: train.count, seed: seed &+ 0xF1E, epoch: epoch)
            var sum = 0.0, seen = 0
            for b in 0..<batches {
                let n = min(batch, train.count - b * batch)
                for slot in 0..<n { try train.load(permutation[b * batch + slot], past: past.pointer + slot * perPast, future: future.pointer + slot * perFuture) }
                store.zeroGradients()
                let y = model.forward(past.pointer, batch: n, mode: .training(.init(seed: seed, step: epoch * batches + b, firstSample: 0)), store)
                // The loss is the evaluation metric's: MSE z-scored with the target's train statistics.
                let count = n * perFuture
                sum += inverseStd.withUnsafeBufferPointer {
                    squaredErrorGradient(prediction: y, target: future.pointer, inverseStd: $0.baseAddress, perWindow: false, windows: n,
                                         horizon: horizon, channels: c, scale: 1 / Float(count), gradient: gradient.pointer)
                }
                seen += count
                model.backward(gradient.pointer, dPast: nil, store)
                optimizer.update(store)
            }
            epochsRun += 1
            let metrics = try evaluate(model, store, validation, corpus: corpus, past: past, future: future)
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
        let validationMetrics = try evaluate(model, store, validation, corpus: corpus, past: past, future: future)
        let testMetrics = test.count > 0 ? try evaluate(model, store, test, corpus: corpus, past: past, future: future) : nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        struct Report: Codable { var best_epoch: Int; var epochs_run: Int; var validation: ForecastMetrics; var test: ForecastMetrics? }
        let report = try encoder.encode(Report(best_epoch: best.epoch, epochs_run: epochsRun, validation: validationMetrics, test: testMetrics))
        try TTMCheckpoint.save(model, store, to: settings.output, extraFiles: ["metrics.json": report])
        log(String(format: "finetune: best epoch %d; validation mse %.6f mae %.6f; test mse %@ mae %@ -> %@", best.epoch, validationMetrics.mse, validationMetrics.mae,
                   testMetrics.map { String(format: "%.6f", $0.mse) } ?? "n/a", testMetrics.map { String(format: "%.6f", $0.mae) } ?? "n/a", settings.output))
        return Result(checkpoint: settings.output, epochs: epochsRun, bestEpoch: best.epoch, validation: validationMetrics, test: testMetrics)
    }

    /// MSE and MAE of every window of `source`, z-scored with the target's train statistics.
    func evaluate(_ model: TTMModel, _ store: ParameterStore, _ source: WindowSource, corpus: CorpusReader,
                  past: FloatBuffer, future: FloatBuffer) throws -> ForecastMetrics {
        let c = corpus.channels, perPast = source.context * c, perFuture = source.horizon * c, batch = settings.batchSize
        var errors = ErrorAccumulator(horizon: source.horizon, channels: c, trainStd: corpus.trainStd)
        var start = 0
        while start < source.count {
            let n = min(batch, source.count - start)
            for slot in 0..<n { try source.load(start + slot, past: past.pointer + slot * perPast, future: future.pointer + slot * perFuture) }
            let y = model.forward(past.pointer, batch: n, mode: .inference, store)
            for slot in 0..<n { errors.add(prediction: y + slot * perFuture, actual: future.pointer + slot * perFuture) }
            start += n
        }
        return errors.metrics(channelNames: corpus.columns)
    }
}
