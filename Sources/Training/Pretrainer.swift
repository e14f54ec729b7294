import BLAS
import Checkpoint
import Corpus
import Foundation
import MPI
import NN
import Optimizers
import TTM

/// Data-parallel pretraining. Every rank holds the whole model; rank r of N computes its share of each global
/// batch (the sampler's slice), gradients are summed with one in-place allreduce over the flat gradient buffer
/// and divided by the global batch through the loss scaling, and every rank takes the same AdamW step. Dropout
/// masks are keyed by (seed, step, position in the global batch), so 1, 2 or 4 ranks compute the same run up to
/// the order of float sums. Rank 0 logs, validates, and writes checkpoints.
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
    public let model: TTMModel
    public let store: ParameterStore
    public let optimizer: AdamW
    let train: WindowSource
    let validation: WindowSource?
    let sampler: DistributedSampler
    let schedule: LearningRateSchedule
    let totalSteps: Int
    let log: RunLog
    let options: Options

    // Step buffers, sized once for the largest local batch.
    private let past: FloatBuffer, future: FloatBuffer, gradient: FloatBuffer
    /// 1 / train std of each loaded window's dataset and channel, [local batch, channels].
    private let inverseStd: FloatBuffer
    private var timings = PhaseTimings()
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
        guard config.data.view == "univariate" || config.model.numInputChannels > 1 else {
            throw ConfigError(key: "data.view", message: "multivariate pretraining needs model.num_input_channels > 1")
        }
        let view: WindowIndex.View = config.data.view == "univariate" ? .univariate : .multivariate
        if view == .univariate && config.model.numInputChannels != 1 {
            throw ConfigError(key: "model.num_input_channels", message: "must be 1 for channel-independent (univariate) pretraining, got \(config.model.numInputChannels)")
        }
        let corpora = try WindowSource.open(config.data.shards)
        train = try WindowSource(corpora: corpora, split: .train, view: view, context: config.model.contextLength, horizon: config.model.predictionLength)
        guard train.count > 0 else {
            throw DataError("data.shards: no training windows of \(config.model.contextLength + config.model.predictionLength) rows (\(train.skippedSeries) series too short)")
        }
        guard train.channels == config.model.numInputChannels else {
            throw ConfigError(key: "model.num_input_channels", message: "\(config.model.numInputChannels), but the data has \(train.channels) channels per window")
        }
        let validationSource = try WindowSource(corpora: corpora, split: .validation, view: view, context: config.model.contextLength, horizon: config.model.predictionLength)
        validation = validationSource.count > 0 ? validationSource : nil
        sampler = DistributedSampler(count: train.count, globalBatch: config.training.globalBatchSize, rank: world.rank, ranks: world.size, seed: config.training.seed)
        totalSteps = config.training.steps ?? (config.training.epochs! * sampler.batchesPerEpoch)
        schedule = LearningRateSchedule(peak: config.training.learningRate, warmupSteps: config.training.warmupSteps,
                                        totalSteps: totalSteps, kind: config.training.schedule)
        model = try TTMModel(config: config.model)
        store = ParameterStore(layout: model.layout)
        optimizer = AdamW(parameterCount: store.count, hyperparameters: .init(learningRate: config.training.learningRate,
                                                                               weightDecay: config.training.weightDecay))
        let local = (config.training.globalBatchSize + world.size - 1) / world.size
        let c = config.model
        past = FloatBuffer(capacity: local * c.contextLength * c.numInputChannels)
        future = FloatBuffer(capacity: local * c.predictionLength * c.numInputChannels)
        gradient = FloatBuffer(capacity: local * c.predictionLength * c.numInputChannels)
        inverseStd = FloatBuffer(capacity: local * c.numInputChannels)
        log = try RunLog(enabled: world.isRoot, metricsPath: config.logging.metrics, append: options.resume)
    }

    /// The debug version of a run: a tiny model on a small slice.
    static func debugVersion(of config: RunConfig) -> RunConfig {
        var c = config
        c.model.dModel = min(c.model.dModel, 16)
        c.model.adaptivePatchingLevels = min(c.model.adaptivePatchingLevels, 1)
        c.model.numLayers = 1
        c.model.decoderNumLayers = 1
        c.model.decoderDModel = min(c.model.decoderDModel, 16)
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
        model.initialize(store, seed: config.training.seed)
        if options.resume {
            guard let directory = config.checkpointing?.directory else {
                throw ConfigError(key: "checkpointing.directory", message: "--resume needs a checkpoint directory")
            }
            guard let newest = CheckpointFolder(directory: directory).complete().last else {
                throw CheckpointError(path: directory, message: "--resume: no complete checkpoint to resume from")
            }
            let saved = try CheckpointFolder.load(newest.path, store: store, optimizer: optimizer)
            let problems = saved.incompatibilities(with: runState)
            guard problems.isEmpty else {
                throw CheckpointError(path: newest.path, message: "cannot resume, the config differs: " + problems.joined(separator: "; "))
            }
            firstStep = saved.step
            if saved.ranks != world.size {
                log.line("resume: checkpoint written by \(saved.ranks) rank(s), continuing on \(world.size); the sampler is rank-independent, so the run is the same up to float summation order")
            }
            log.line("resume: continuing from \(newest.path) at step \(firstStep) of \(totalSteps)")
        }
        // Every rank starts from rank 0's parameters and optimizer state.
        try world.broadcast(UnsafeMutableBufferPointer(start: store.values, count: store.count), root: 0)
        log.line("pretrain: \(world.size) rank(s), \(store.count) parameters, \(train.count) training windows (\(train.skippedSeries) series too short), global batch \(config.training.globalBatchSize), \(totalSteps) steps\(options.debug ? " [debug: tiny model]" : "")")
        if let path = log.metricsPath { log.line("metrics: \(path)") }
        let started = ContinuousClock.now
        var samplesSinceReport = 0, reportClock = ContinuousClock.now
        for step in firstStep..<totalSteps {
            let (loss, globalBatch) = try trainStep(step)
            if !loss.isFinite {
                let stage = model.firstNonFiniteStage() ?? "the loss"
                throw TrainingError("step \(step): loss is \(loss); first non-finite output: \(stage)")
            }
            samplesSinceReport += globalBatch
            let lr = schedule.rate(at: step)
            log.record(["step": step + 1, "loss": loss, "lr": lr])
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
                log.record(["step": step + 1, "val_loss": value])
                log.line(String(format: "step %d  validation loss %.6f", step + 1, value))
            }
            if let checkpointing = config.checkpointing, (step + 1) % checkpointing.every == 0, step + 1 < totalSteps {
                try saveCheckpoint(step: step + 1)
            }
        }
        let total = (ContinuousClock.now - started).inSeconds
        log.line(String(format: "pretrain: done in %@; per step: %@", RunLog.duration(total) as NSString, timings.summary(steps: max(totalSteps - firstStep, 1)) as NSString))
        var finalPath: String? = nil
        if let checkpointing = config.checkpointing {
            if world.isRoot {
                try saveCheckpoint(step: totalSteps)
                finalPath = URL(fileURLWithPath: checkpointing.directory).appendingPathComponent("final").path
                try TTMCheckpoint.save(model, store, to: finalPath!)
                log.line("pretrain: final model in \(finalPath!)")
            }
        }
        try world.barrier()
        return finalPath
    }

    /// One data-parallel step; returns the global batch's loss and size.
    func trainStep(_ step: Int) throws -> (Double, Int) {
        let c = config.model
        let perPast = c.contextLength * c.numInputChannels, perFuture = c.predictionLength * c.numInputChannels
        let epoch = step / sampler.batchesPerEpoch, batchIndex = step % sampler.batchesPerEpoch
        let globalBatch = sampler.globalBatchSize(batchIndex)
        var clock = ContinuousClock.now
        if order?.epoch != epoch { order = (epoch, sampler.permutation(epoch: epoch)) }
        let mine = sampler.localRange(batch: batchIndex)
        for (slot, position) in mine.enumerated() {
            let window = sampler.window(order!.permutation, batch: batchIndex, position: position)
            try train.load(window, past: past.pointer + slot * perPast, future: future.pointer + slot * perFuture)
            train.inverseTrainStd(window, into: inverseStd.pointer + slot * c.numInputChannels)
        }
        timings.data += lap(&clock)
        store.zeroGradients()
        var sumOfSquares = 0.0
        if !mine.isEmpty {
            let n = mine.count
            let y = model.forward(past.pointer, batch: n, mode: .training(.init(seed: config.training.seed, step: step, firstSample: mine.lowerBound)), store)
            timings.forward += lap(&clock)
            sumOfSquares = lossGradient(y, batch: n, globalBatch: globalBatch)
            model.backward(gradient.pointer, dPast: nil, store)
            timings.backward += lap(&clock)
        }
        try world.allreduce(inPlace: UnsafeMutableBufferPointer(start: store.gradients, count: store.count), op: .sum)
        let loss = try world.allreduce(sumOfSquares, op: .sum) / Double(globalBatch * perFuture)
        timings.allreduce += lap(&clock)
        if let clip = config.training.gradientClip { clipGradients(maxNorm: clip) }
        optimizer.update(store, learningRate: schedule.rate(at: step))
        timings.optimizer += lap(&clock)
        return (loss, globalBatch)
    }

    /// Fills `gradient` with ∂loss/∂y and returns this rank's part of the loss numerator. Loss = Σ e² /
    /// (global batch · horizon · channels) with e = (y - t)/σ, σ the train std of the window's dataset and
    /// channel in the standardized loss space (1 in the original one), so ∂loss/∂y = 2e/σ / (B·H·C).
    /// (A window's own context std would be scale-free too, but a flat context makes it tiny and one window's
    /// error then dominates a whole batch.)
    func lossGradient(_ y: UnsafePointer<Float>, batch n: Int, globalBatch: Int) -> Double {
        let c = config.model
        return squaredErrorGradient(
            prediction: y, target: future.pointer,
            inverseStd: config.training.lossSpace == .standardized ? UnsafePointer(inverseStd.pointer) : nil, perWindow: true,
            windows: n, horizon: c.predictionLength, channels: c.numInputChannels,
            scale: 1 / Float(globalBatch * c.predictionLength * c.numInputChannels), gradient: gradient.pointer)
    }

    /// torch.nn.utils.clip_grad_norm_: scale by max_norm / (‖g‖ + 1e-6) when that is below 1.
    func clipGradients(maxNorm: Float) {
        var total = 0.0
        for range in store.trainableRanges { for i in range { total += Double(store.gradients[i]) * Double(store.gradients[i]) } }
        let norm = Float(total.squareRoot())
        let coefficient = maxNorm / (norm + 1e-6)
        guard coefficient < 1 else { return }
        for range in store.trainableRanges { for i in range { store.gradients[i] *= coefficient } }
    }

    /// Stops the job loudly when the ranks' parameters are no longer identical.
    func checkRanksAgree(step: Int) throws {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for i in 0..<store.count { hash = (hash ^ UInt64(store.values[i].bitPattern)) &* 0x100_0000_01B3 }
        let mine = Int64(bitPattern: hash)
        let high = try world.allreduce(mine, op: .max), low = try world.allreduce(mine, op: .min)
        if high != low {
            throw TrainingError("step \(step): parameters differ between ranks (checksums \(low) vs \(high)); the ranks have diverged, stopping")
        }
    }

    /// Mean loss over the first `validation_batches` global batches of the validation windows, shared out.
    func validationLoss(_ source: WindowSource) throws -> Double {
        let c = config.model
        let perPast = c.contextLength * c.numInputChannels, perFuture = c.predictionLength * c.numInputChannels
        let batch = config.training.globalBatchSize
        let total = min(source.count, config.training.validationBatches * batch)
        let permutation = EpochPermutation(count: source.count, seed: config.training.seed ^ 0x5A5A, epoch: 0)
        var sum = 0.0
        var start = 0
        while start < total {
            let size = min(batch, total - start)
            let mine = (world.rank * size / world.size)..<((world.rank + 1) * size / world.size)
            for (slot, position) in mine.enumerated() {
                try source.load(permutation[start + position], past: past.pointer + slot * perPast, future: future.pointer + slot * perFuture)
                source.inverseTrainStd(permutation[start + position], into: inverseStd.pointer + slot * c.numInputChannels)
            }
            if !mine.isEmpty {
                let y = model.forward(past.pointer, batch: mine.count, mode: .inference, store)
                sum += lossGradient(y, batch: mine.count, globalBatch: 1)  // the gradient it also writes is unused
            }
            start += size
        }
        return try world.allreduce(sum, op: .sum) / Double(total * perFuture)
    }

    func saveCheckpoint(step: Int) throws {
        guard world.isRoot, let checkpointing = config.checkpointing else { return }
        var state = runState
        state.step = step
        try CheckpointFolder(directory: checkpointing.directory).save(model: model, store: store, optimizer: optimizer, state: state, keep: checkpointing.keep)
        log.line("checkpoint: step \(step) -> \(CheckpointFolder(directory: checkpointing.directory).path(step: step))")
    }

    /// Debug mode: central differences of the first batch's loss for a few parameters against backward.
    func gradientCheck(step: Int) throws {
        let c = config.model
        let perFuture = c.predictionLength * c.numInputChannels
        // The batch trainStep just loaded into the step buffers.
        let mine = sampler.localRange(batch: step % sampler.batchesPerEpoch)
        let n = mine.count, count = n * perFuture
        let mode = ForwardMode.training(.init(seed: config.training.seed, step: step, firstSample: mine.lowerBound))
        func loss() -> Double {
            lossGradient(model.forward(past.pointer, batch: n, mode: mode, store), batch: n, globalBatch: n) / Double(count)
        }
        store.zeroGradients()
        _ = loss()
        model.backward(gradient.pointer, dPast: nil, store)
        if let bad = store.layout.views.first(where: { v in UnsafeBufferPointer(start: store.gradient(v), count: v.count).contains { !$0.isFinite } }) {
            throw TrainingError("step \(step): gradient of \(bad.name) is not finite")
        }
        // The largest gradient element of each of a few tensors, where the check is least noisy.
        var worst = 0.0, checked = 0
        for view in store.layout.views.filter(\.trainable).enumerated().filter({ $0.offset % max(1, store.layout.views.count / 8) == 0 }).map(\.element) {
            let g = store.gradient(view)
            let i = (0..<view.count).max { abs(g[$0]) < abs(g[$1]) }!
            guard abs(g[i]) > 1e-4 else { continue }
            let p = store.value(view), keep = p[i], h: Float = 1e-2 * max(1, abs(keep))
            p[i] = keep + h; let plus = loss()
            p[i] = keep - h; let minus = loss()
            p[i] = keep
            let numeric = (plus - minus) / Double(2 * h)
            let relative = abs(numeric - Double(g[i])) / max(abs(numeric), abs(Double(g[i])))
            worst = max(worst, relative)
            checked += 1
            log.line(String(format: "debug: d loss/d %@[%d]: backward %.6e, finite difference %.6e (relative %.2e)", view.name as NSString, i, g[i], numeric, relative))
        }
        log.line(String(format: "debug: gradient check on %d parameters, largest relative difference %.2e", checked, worst))
        if worst > 5e-2 { throw TrainingError("debug: gradient check failed (relative difference \(worst))") }
    }

    private func lap(_ clock: inout ContinuousClock.Instant) -> Double {
        let now = ContinuousClock.now
        defer { clock = now }
        return (now - clock).inSeconds
    }
}

extension Duration {
    /// The duration in seconds, for rates and reports.
    public var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

/// Time spent per phase of the training step, summed over steps.
struct PhaseTimings {
    var data = 0.0, forward = 0.0, backward = 0.0, allreduce = 0.0, optimizer = 0.0
    func summary(steps: Int) -> String {
        let n = Double(steps), total = data + forward + backward + allreduce + optimizer
        func ms(_ x: Double) -> String { String(format: "%.2f ms", x / n * 1e3) }
        return "data \(ms(data)), forward \(ms(forward)), backward \(ms(backward)), allreduce \(ms(allreduce)) (\(String(format: "%.1f", 100 * allreduce / max(total, 1e-12)))%), optimizer \(ms(optimizer))"
    }
}

public struct TrainingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
