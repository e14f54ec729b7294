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
    public struct Metrics: Codable, Sendable {
        /// MSE and MAE on the z-scored scale (train statistics of the target), every channel, step and window.
        public var mse: Double
        public var mae: Double
        public var windows: Int
    }

    public struct Result: Sendable {
        public var checkpoint: String
        public var epochs: Int
        public var bestEpoch: Int
        public var validation: Metrics
        public var test: Metrics?
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
        var copied = 0, fresh: [String] = []
        for view in store.layout.views {
            if let source = baseStore.layout[view.name], source.shape == view.shape {
                store.value(view).update(from: baseStore.value(source), count: view.count)
                copied += 1
            } else {
                fresh.append(view.name)
            }
        }
        guard baseStore.layout.views.filter({ $0.name.hasPrefix("backbone.") }).allSatisfy({ store.layout[$0.name]?.shape == $0.shape }) else {
            throw TrainingError("fine-tune: the backbone of the base model does not fit the target configuration")
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
        let inverseStd = corpus.trainStd.map { Float($0 > 0 ? 1 / $0 : 1) }
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
                // The loss is the evaluation metric's: MSE z-scored with the target's train statistics, so that
                // a channel in large units does not drown the others.
                let count = n * perFuture
                for i in 0..<count {
                    let inverse = inverseStd[i % c]
                    let d = (y[i] - future.pointer[i]) * inverse
                    sum += Double(d) * Double(d)
                    gradient.pointer[i] = 2 * d * inverse / Float(count)
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
        struct Report: Codable { var best_epoch: Int; var epochs_run: Int; var validation: Metrics; var test: Metrics? }
        let report = try encoder.encode(Report(best_epoch: best.epoch, epochs_run: epochsRun, validation: validationMetrics, test: testMetrics))
        try TTMCheckpoint.save(model, store, to: settings.output, extraFiles: ["metrics.json": report])
        log(String(format: "finetune: best epoch %d; validation mse %.6f mae %.6f; test mse %@ mae %@ -> %@", best.epoch, validationMetrics.mse, validationMetrics.mae,
                   testMetrics.map { String(format: "%.6f", $0.mse) } ?? "n/a", testMetrics.map { String(format: "%.6f", $0.mae) } ?? "n/a", settings.output))
        return Result(checkpoint: settings.output, epochs: epochsRun, bestEpoch: best.epoch, validation: validationMetrics, test: testMetrics)
    }

    /// MSE and MAE of every window of `source`, z-scored with the target's train statistics.
    func evaluate(_ model: TTMModel, _ store: ParameterStore, _ source: WindowSource, corpus: CorpusReader,
                  past: FloatBuffer, future: FloatBuffer) throws -> Metrics {
        let c = corpus.channels, perPast = source.context * c, perFuture = source.horizon * c, batch = settings.batchSize
        var squared = 0.0, absolute = 0.0
        var start = 0
        while start < source.count {
            let n = min(batch, source.count - start)
            for slot in 0..<n { try source.load(start + slot, past: past.pointer + slot * perPast, future: future.pointer + slot * perFuture) }
            let y = model.forward(past.pointer, batch: n, mode: .inference, store)
            for i in 0..<(n * perFuture) {
                let std = corpus.trainStd[i % c]
                let d = Double(y[i] - future.pointer[i]) / (std > 0 ? std : 1)  // a constant channel is not rescaled
                squared += d * d
                absolute += abs(d)
            }
            start += n
        }
        let count = Double(source.count * perFuture)
        return Metrics(mse: squared / count, mae: absolute / count, windows: source.count)
    }
}
