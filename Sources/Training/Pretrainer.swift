import Checkpoint
import Corpus
import Flow
import Foundation
import Models
import MPI
import NN
import Optimizers

/// Data-parallel pretraining of any model kind. Every rank holds the whole model; rank r of N computes its share
/// of each global batch (the sampler's slice) through the engine's step, which sums gradients (and batch
/// statistics) over the ranks, so every rank takes the same AdamW step. Dropout masks are keyed by (seed, step,
/// position in the global batch), so 1, 2 or 4 ranks compute the same run up to the order of float sums.
/// Rank 0 logs, validates, and writes checkpoints.
public final class Pretrainer {
    public struct Options: Sendable {
        public var resume = false
        public var debug = false
        public init(resume: Bool = false, debug: Bool = false) {
            self.resume = resume
            self.debug = debug
        }
    }

    public let config: RunConfig
    public let world: Communicator
    public let engine: Engine
    public var model: LoadedModel { engine.model }
    let train: any SampleSource
    let validation: (any SampleSource)?
    let sampler: DistributedSampler
    let schedule: LearningRateSchedule
    let totalSteps: Int
    let log: RunLog
    let options: Options
    /// The current epoch's window order, built once per epoch rather than every step.
    private var order: (epoch: Int, permutation: EpochPermutation)?

    public init(config: RunConfig, world: Communicator, options: Options = .init()) throws {
        var config = config
        if options.debug {
            guard world.size == 1 else { throw ConfigError(key: "--debug", message: "debug mode runs on one rank, not \(world.size)") }
            config = Self.debugVersion(of: config)
        }
        self.config = config
        self.world = world
        self.options = options
        let architecture = config.model
        try Self.checkOutputs(config, resume: options.resume, isRoot: world.isRoot)
        let fresh = try LoadedModel(config: architecture, seed: config.training.seed)
        (train, validation) = try Self.openSources(config, fresh.network)
        sampler = DistributedSampler(count: train.count, globalBatch: config.training.globalBatchSize, rank: world.rank, ranks: world.size, seed: config.training.seed)
        totalSteps = config.training.steps ?? (config.training.epochs! * sampler.batchesPerEpoch)
        schedule = LearningRateSchedule(peak: config.training.learningRate, warmupSteps: config.training.warmupSteps,
                                        totalSteps: totalSteps, kind: config.training.schedule)
        let optimizer = AdamW(parameterCount: fresh.store.count, hyperparameters: .init(learningRate: config.training.learningRate,
                                                                                       weightDecay: config.training.weightDecay))
        engine = try Engine(model: fresh, optimizer: optimizer, batchCapacity: (config.training.globalBatchSize + world.size - 1) / world.size,
                            capacityKey: "training.global_batch_size",
                            weighted: architecture.isForecaster && config.training.lossSpace == .standardized, world: world,
                            threads: config.training.threads, windowsPerPass: config.training.microBatch)
        // On resume the metrics file is cut back to the checkpoint's step once that step is known (run()).
        log = try RunLog(enabled: world.isRoot, metricsPath: config.logging.metrics,
                         resumedStep: options.resume ? Self.newestCheckpointStep(config) : nil)
    }

    /// The training and validation samples: windows of the corpora for a forecaster, the image file's train and
    /// validation splits for a flow; checked against the model's shape.
    static func openSources(_ config: RunConfig, _ network: any TrainableModel) throws -> (any SampleSource, (any SampleSource)?) {
        if let flow = network as? FlowModel {
            guard config.data.shards.count == 1 else {
                throw ConfigError(key: "data.shards", message: "a flow trains on one prepared image folder (ttm prepare --images), got \(config.data.shards.count) entries")
            }
            let train = try ImageSource(folder: config.data.shards[0], split: "train", seed: config.training.seed)
            guard let shape = config.model.imageShape else { preconditionFailure("a flow model without an image shape") }
            try train.check(height: shape.height, width: shape.width, channels: shape.channels)
            precondition(train.dimensions == flow.dimensions)
            guard train.count > 0 else { throw DataError("data.shards: \(train.path) has no training images") }
            let validation = try ImageSource(folder: config.data.shards[0], split: "validation", seed: config.training.seed)
            return (train, validation.count > 0 ? validation : nil)
        }
        guard let forecaster = network as? any Forecaster else { preconditionFailure("\(network.kind) is neither a forecaster nor a flow") }
        let channels = config.model.channels
        let channelKey = config.model.kind == .ttm ? "model.num_input_channels" : "model.n_features"
        if config.data.view == .univariate && channels != 1 {
            throw ConfigError(key: channelKey, message: "must be 1 for channel-independent (data.view: univariate) pretraining, got \(channels)")
        }
        let (context, horizon) = (forecaster.contextLength, forecaster.predictionLength)
        let corpora = try WindowSource.open(config.data.shards)
        let train = try WindowSource(corpora: corpora, split: .train, view: config.data.view, context: context, horizon: horizon)
        guard train.count > 0 else {
            throw DataError("data.shards: no training windows of \(context + horizon) rows (\(train.skippedSeries) series too short)")
        }
        guard train.channels == channels else {
            throw ConfigError(key: channelKey, message: "\(channels), but the data has \(train.channels) channels per window (data.view: \(config.data.view.rawValue))")
        }
        let validation = try WindowSource(corpora: corpora, split: .validation, view: config.data.view, context: context, horizon: horizon)
        let sampled: any SampleSource = config.data.windowsPerCorpus.map {
            BalancedWindows(train, cap: $0, globalBatch: config.training.globalBatchSize, seed: config.training.seed)
        } ?? train
        return (sampled, validation.count > 0 ? validation : nil)
    }

    /// What the run trains on, for its first log line.
    var trainingSamples: String {
        if let windows = train as? WindowSource { return "\(windows.count) training windows (\(windows.skippedSeries) series too short)" }
        if let balanced = train as? BalancedWindows {
            let source = balanced.source
            return "\(balanced.count) training windows per epoch, at most \(balanced.cap) from each of \(balanced.perCorpus.count) corpora (of \(source.count); \(source.skippedSeries) series too short)"
        }
        return "\(train.count) training images"
    }

    /// What a run will write, checked before it trains rather than found after: a checkpoint directory that
    /// holds another run's checkpoints (continue it with --resume), one that cannot be written, and a
    /// fine-tuning stage whose data does not open or whose output exists already.
    static func checkOutputs(_ config: RunConfig, resume: Bool, isRoot: Bool) throws {
        if let directory = config.checkpointing?.directory {
            let existing = TrainingCheckpoints(directory: directory)
            let final = URL(fileURLWithPath: directory).appendingPathComponent("final").path
            if !resume, !existing.complete().isEmpty || FileManager.default.fileExists(atPath: final) {
                throw CheckpointError(path: directory, message: "checkpointing.directory holds the checkpoints of an earlier run; continue it with --resume, or choose another directory (nothing was changed)")
            }
            if isRoot { try AtomicFile.checkFolderCreatable(directory, key: "checkpointing.directory") }
        }
        if isRoot, let metrics = config.logging.metrics, PathKind(metrics) != .special {
            try AtomicFile.checkParentCreatable(of: metrics, key: "logging.metrics")
        }
        if config.finetune != nil && !config.model.isForecaster {
            throw ConfigError(key: "finetune", message: "a \(config.model.kind.rawValue) is trained whole; it has no fine-tuning stage (remove the section)")
        }
        if let finetune = config.finetune { _ = try FineTuner.openTarget(finetune) }
    }

    /// The step of the newest complete checkpoint a resume would start from (0 when there is none).
    static func newestCheckpointStep(_ config: RunConfig) -> Int {
        config.checkpointing.flatMap { TrainingCheckpoints(directory: $0.directory).complete().last?.step } ?? 0
    }

    /// The debug version of a run: a tiny model on a small slice.
    static func debugVersion(of config: RunConfig) -> RunConfig {
        var c = config
        c.model = c.model.debugVersion()
        c.training.steps = min(c.training.steps ?? 20, 20)
        c.training.epochs = nil
        c.training.globalBatchSize = min(c.training.globalBatchSize, 16)
        c.training.warmupSteps = min(c.training.warmupSteps, 2)
        c.checkpointing = nil
        return c
    }

    var runState: TrainingState {
        TrainingState(step: 0, ranks: world.size, seed: config.training.seed, globalBatchSize: config.training.globalBatchSize,
                      totalSteps: totalSteps, schedule: config.training.schedule.rawValue, learningRate: config.training.learningRate,
                      warmupSteps: config.training.warmupSteps, weightDecay: config.training.weightDecay, trainWindows: train.count,
                      modelConfig: String(decoding: (try? model.config.jsonData()) ?? Data(), as: UTF8.self))
    }

    /// Runs pretraining to the end; returns the final model's folder on rank 0 (nil elsewhere or without
    /// checkpointing).
    @discardableResult
    public func run() throws -> String? {
        var firstStep = 0
        let store = model.store
        if options.resume {
            guard let directory = config.checkpointing?.directory else {
                throw ConfigError(key: "checkpointing.directory", message: "--resume needs a checkpoint directory")
            }
            guard let newest = TrainingCheckpoints(directory: directory).complete().last else {
                throw CheckpointError(path: directory, message: "--resume: no complete checkpoint to resume from")
            }
            let saved = try TrainingCheckpoints.load(newest.path, into: model, optimizer: engine.optimizer)
            let problems = saved.incompatibilities(with: runState)
            guard problems.isEmpty else {
                throw CheckpointError(path: newest.path, message: "cannot resume, the config differs: " + problems.joined(separator: "; "))
            }
            guard (0...totalSteps).contains(saved.step) else {
                throw CheckpointError(path: newest.path + "/" + TrainingState.file, message: "step \(saved.step) is outside this run's 0...\(totalSteps)")
            }
            firstStep = saved.step
            if saved.ranks != world.size {
                log.line("resume: checkpoint written by \(saved.ranks) rank(s), continuing on \(world.size); the sampler is rank-independent, so the run is the same up to float summation order")
            }
            log.line("resume: continuing from \(newest.path) at step \(firstStep) of \(totalSteps)")
        }
        // Every rank starts from rank 0's parameters (and, resuming, moving statistics).
        try world.broadcast(UnsafeMutableBufferPointer(start: store.values, count: store.count), root: 0)
        log.line("pretrain: \(model.config.kind.rawValue), \(world.size) rank(s), \(store.count) parameters, \(trainingSamples), global batch \(config.training.globalBatchSize), \(totalSteps) steps\(options.debug ? " [debug: tiny model]" : "")")
        if let path = log.metricsPath { log.line("metrics: \(path)") }
        let started = ContinuousClock.now
        var samplesSinceReport = 0, reportClock = ContinuousClock.now
        for step in firstStep..<totalSteps {
            let (loss, globalBatch) = try trainStep(step)
            if !loss.isFinite {
                let stage = engine.network.firstNonFiniteStage() ?? "the loss"
                throw TrainingError("step \(step): loss is \(loss); first non-finite output: \(stage)")
            }
            samplesSinceReport += globalBatch
            let lr = schedule.rate(at: step)
            try log.record(["step": step + 1, "loss": loss, "lr": lr])
            if options.debug, step == firstStep { try gradientCheck(step: step) }
            if (step + 1) % config.logging.progressEvery == 0 || step + 1 == totalSteps {
                let elapsed = (ContinuousClock.now - reportClock).inSeconds
                let rate = Double(samplesSinceReport) / max(elapsed, 1e-9)
                let remaining = Double(totalSteps - step - 1) * Double(config.training.globalBatchSize) / max(rate, 1e-9)
                log.line(String(format: "step %d/%d  loss %.6f  lr %.3e  %.0f samples/s  ETA %@", step + 1, totalSteps, loss, lr, rate,
                                RunLog.duration(remaining) as NSString))
                samplesSinceReport = 0
                reportClock = ContinuousClock.now
            }
            if (step + 1) % config.training.checksumEvery == 0 || step + 1 == totalSteps { try checkRanksAgree(step: step + 1) }
            if config.training.validationEvery > 0, (step + 1) % config.training.validationEvery == 0, let validation {
                let value = try validationLoss(validation)
                try log.record(["step": step + 1, "val_loss": value])
                log.line(String(format: "step %d  validation loss %.6f", step + 1, value))
            }
            if let checkpointing = config.checkpointing, (step + 1) % checkpointing.every == 0, step + 1 < totalSteps {
                try saveCheckpoint(step: step + 1)
            }
        }
        let total = (ContinuousClock.now - started).inSeconds
        log.line(String(format: "pretrain: done in %@; per step: %@", RunLog.duration(total) as NSString, engine.timings.summary(steps: max(totalSteps - firstStep, 1)) as NSString))
        var finalPath: String? = nil
        if let checkpointing = config.checkpointing {
            if world.isRoot {
                try saveCheckpoint(step: totalSteps)
                finalPath = URL(fileURLWithPath: checkpointing.directory).appendingPathComponent("final").path
                try ModelFolder.save(model, to: finalPath!)
                log.line("pretrain: final model in \(finalPath!)")
            }
        }
        try world.barrier()
        return finalPath
    }

    /// Loads this rank's share of the step's global batch and takes the engine's step; returns the global
    /// batch's loss and size.
    func trainStep(_ step: Int) throws -> (Double, Int) {
        let epoch = step / sampler.batchesPerEpoch, batchIndex = step % sampler.batchesPerEpoch
        let globalBatch = sampler.globalBatchSize(batchIndex)
        if order?.epoch != epoch { order = (epoch, sampler.permutation(epoch: epoch)) }
        let permutation = order!.permutation, mine = sampler.localRange(batch: batchIndex)
        try engine.load(mine.lazy.map { self.sampler.window(permutation, batch: batchIndex, position: $0) }, from: train, step: step)
        let loss = try engine.trainStep(globalBatch: globalBatch, dropout: dropoutContext(step: step),
                                        learningRate: schedule.rate(at: step), clip: config.training.gradientClip)
        return (loss, globalBatch)
    }

    func dropoutContext(step: Int) -> Dropout.Context {
        .init(seed: config.training.seed, step: step, firstSample: sampler.localRange(batch: step % sampler.batchesPerEpoch).lowerBound)
    }

    /// Stops the job loudly when the ranks' parameters are no longer identical.
    func checkRanksAgree(step: Int) throws {
        let store = model.store
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<store.count { hash = (hash ^ UInt64(store.values[i].bitPattern)) &* 0x100_0000_01B3 }
        let mine = Int64(bitPattern: hash)
        let high = try world.allreduce(mine, op: .max), low = try world.allreduce(mine, op: .min)
        if high != low {
            throw TrainingError("step \(step): parameters differ between ranks (checksums \(low) vs \(high)); the ranks have diverged, stopping")
        }
    }

    /// Mean loss over the first `validation_batches` global batches of the validation windows, shared out.
    func validationLoss(_ source: any SampleSource) throws -> Double {
        let batch = config.training.globalBatchSize
        let total = min(source.count, config.training.validationBatches * batch)
        let permutation = EpochPermutation(count: source.count, seed: config.training.seed ^ 0x5A5A, epoch: 0)
        var sum = 0.0
        var start = 0
        while start < total {
            let size = min(batch, total - start)
            let mine = share(of: size, part: world.rank, parts: world.size)
            try engine.load(mine.lazy.map { permutation[start + $0] }, from: source)
            sum += try engine.lossSum()
            start += size
        }
        return try world.allreduce(sum, op: .sum) / Double(total * engine.network.lossTerms)
    }

    func saveCheckpoint(step: Int) throws {
        guard world.isRoot, let checkpointing = config.checkpointing else { return }
        var state = runState
        state.step = step
        let checkpoints = TrainingCheckpoints(directory: checkpointing.directory)
        try checkpoints.save(model, optimizer: engine.optimizer, state: state, keep: checkpointing.keep)
        log.line("checkpoint: step \(step) -> \(checkpoints.path(step: step))")
    }

    /// Debug mode: central differences of the first batch's loss for a few parameters against backward.
    func gradientCheck(step: Int) throws {
        let store = model.store
        // The batch trainStep just loaded is still in the engine; its loss is taken as a mean over that batch.
        let n = engine.batch.count
        let mode = ForwardMode.training(dropoutContext(step: step))
        let count = Double(n * engine.network.lossTerms)
        func loss() throws -> Double { try engine.lossSum(mode: mode) / count }
        store.zeroGradients()
        _ = try engine.forwardAndBackward(mode: mode, globalBatch: n)
        if let bad = store.layout.views.first(where: { v in UnsafeBufferPointer(start: store.gradient(v), count: v.count).contains { !$0.isFinite } }) {
            throw TrainingError("step \(step): gradient of \(bad.name) is not finite")
        }
        let analytic = Array(UnsafeBufferPointer(start: store.gradients, count: store.count))
        // The largest gradient element of each of a few tensors, where the check is least noisy; one whose
        // central difference moves the loss by less than 1e-5 of it is skipped (float32 forward noise is ~1e-6
        // of the loss, and a flow's loss of ~7 bits per dimension has gradients of 1e-4).
        let baseline = abs(try loss())
        var worst = 0.0, checked = 0
        func probeSize(_ i: Int) -> Float { 1e-2 * max(1, abs(store.values[i])) }
        let candidates = store.layout.views.filter(\.trainable).compactMap { view -> (ParameterView, Int)? in
            let g = analytic[view.range]
            let i = g.indices.max { abs(g[$0]) < abs(g[$1]) }!
            return abs(g[i]) > 1e-4 && Double(abs(g[i]) * 2 * probeSize(i)) >= 1e-5 * baseline ? (view, i) : nil
        }
        guard !candidates.isEmpty else { throw TrainingError("debug: no gradient is large enough to check by finite differences") }
        for (view, i) in candidates.enumerated().filter({ $0.offset % max(1, candidates.count / 8) == 0 }).map(\.element) {
            let g = analytic, p = store.values, keep = p[i], h = probeSize(i)
            let moving = movingStatistics()
            p[i] = keep + h; let plus = try loss(); restore(moving)
            p[i] = keep - h; let minus = try loss(); restore(moving)
            p[i] = keep
            let numeric = (plus - minus) / Double(2 * h)
            let relative = abs(numeric - Double(g[i])) / max(abs(numeric), abs(Double(g[i])))
            worst = max(worst, relative)
            checked += 1
            log.line(String(format: "debug: d loss/d %@[%d]: backward %.6e, finite difference %.6e (relative %.2e)", view.name as NSString, i - view.offset, g[i], numeric, relative))
        }
        log.line(String(format: "debug: gradient check on %d parameters, largest relative difference %.2e", checked, worst))
        if worst > 5e-2 { throw TrainingError("debug: gradient check failed (relative difference \(worst))") }
    }

    /// Non-trainable state a training forward moves (BatchNorm statistics), so a probe can put it back.
    private func movingStatistics() -> [(Int, [Float])] {
        model.store.layout.views.filter { !$0.trainable }.map { ($0.offset, model.store.array($0)) }
    }

    private func restore(_ saved: [(Int, [Float])]) {
        for (offset, values) in saved { values.withUnsafeBufferPointer { (model.store.values + offset).update(from: $0.baseAddress!, count: values.count) } }
    }
}
