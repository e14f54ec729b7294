import BLAS
import Corpus
import Dispatch
import Foundation
import Models
import MPI
import NN
import Optimizers

/// The one training step and the batch passes every stage shares, for any model behind `TrainableModel`
/// (forecasters and flows alike):
///
///     load samples → forward → model's loss and ∂loss/∂output → backward → allreduce(gradient) → clip → AdamW
///
/// Pretraining (every rank, data-parallel), validation, fine-tuning (one process) and evaluation all go
/// through here; the engine knows the model only through its contract. A batch holds a forecaster's windows
/// (past, future, channel weights) or, for any other model, its inputs as the "past" and its targets as the
/// "future". With `world` the batch is the rank's
/// share of a global batch: the loss is scaled by the global batch, gradients are summed over ranks with one
/// in-place allreduce of the flat arena, and batch statistics (BatchNorm) are summed over ranks too.
/// `@unchecked Sendable`: the threads of one pass touch disjoint windows, replicas and gradient arenas, and
/// nothing else of the engine.
public final class Engine: @unchecked Sendable {
    public let model: LoadedModel
    public let optimizer: AdamW
    public let batch: WindowBatch
    /// Errors scaled by 1 / train std of the window's dataset and channel (what evaluation reports), or raw.
    public let weighted: Bool
    let world: Communicator?
    let statistics: RankBatchStatistics?
    let gradient: FloatBuffer
    /// Replicas for threads 1..<threads: each splits off its share of the batch, reads the shared parameter
    /// values and accumulates into its own gradient arena, added to the main one in thread order.
    let replicas: [(network: any TrainableModel, store: ParameterStore)]
    /// The threads' forecasts gathered (predict with threads).
    private let predictions = FloatBuffer()
    /// Per-thread loss numerators of the last pass (thread 0 first).
    private let threadSums: UnsafeMutablePointer<Double>
    public var threads: Int { replicas.count + 1 }
    /// Windows per forward/backward pass. A share of the batch runs in passes of at most this many windows, their
    /// gradients added up in the arena (the weight-gradient products accumulate), so that one pass's activations
    /// (about 1.5 MB per univariate window of the reference TTM) stay in cache between its forward and backward.
    /// Measured on 64-window pretraining steps, passes of 16 against one pass: 4-15% faster with the host loaded,
    /// 13% with both cores running ranks, even for one rank on a quiet host. A model with batch statistics takes
    /// its share in one pass.
    public let windowsPerPass: Int
    /// The default: 16 series per pass (16 univariate windows, 2 windows of 7 channels).
    public static func defaultWindowsPerPass(channels: Int) -> Int { max(1, 16 / max(channels, 1)) }
    public var timings = PhaseTimings()

    public var network: any TrainableModel { model.network }
    public var store: ParameterStore { model.store }

    /// `threads` splits each batch among that many threads in this process (each with a model replica); a
    /// model with batch statistics (BatchNorm) takes 1. A `batchCapacity` whose window buffers alone (past,
    /// future, forecast gradient) would take more than half of this machine's memory is refused before anything
    /// is allocated, naming `capacityKey`, the config key that set it.
    public init(model: LoadedModel, optimizer: AdamW, batchCapacity: Int, capacityKey: String = "batch size", weighted: Bool,
                world: Communicator?, threads: Int = 1, windowsPerPass: Int? = nil) throws {
        let n = model.network
        let bytes = Double(batchCapacity) * Double(n.inputCount + 2 * n.outputCount + n.weightCount) * 4
        let memory = Double(ProcessInfo.processInfo.physicalMemory)
        if bytes > memory / 2 {
            throw ConfigError(key: capacityKey, message: "\(batchCapacity) windows per batch need \(String(format: "%.1f", bytes / 1e9)) GB for their values alone (activations come on top); this machine has \(String(format: "%.1f", memory / 1e9)) GB")
        }
        self.model = model
        self.optimizer = optimizer
        self.weighted = weighted
        self.world = world
        statistics = world.flatMap { $0.size > 1 ? RankBatchStatistics($0) : nil }
        if let forecaster = n as? any Forecaster {
            batch = WindowBatch(capacity: batchCapacity, context: forecaster.contextLength, horizon: forecaster.predictionLength, channels: forecaster.channels)
        } else {
            batch = WindowBatch(capacity: batchCapacity, context: n.inputCount, horizon: n.targetCount, channels: 1)
        }
        gradient = FloatBuffer(capacity: batchCapacity * n.outputCount)
        guard threads >= 1 else { throw ConfigError(key: "training.threads", message: "must be at least 1, got \(threads)") }
        if let windowsPerPass, windowsPerPass < 1 {
            throw ConfigError(key: "training.micro_batch", message: "must be at least 1, got \(windowsPerPass)")
        }
        self.windowsPerPass = n.usesBatchStatistics ? Int.max : windowsPerPass ?? Self.defaultWindowsPerPass(channels: batch.channels)
        if threads > 1 && n.usesBatchStatistics {
            throw ConfigError(key: "training.threads", message: "a \(n.kind) takes statistics over the batch (BatchNorm, or the ActNorms' start of a flow), so its batch is not split among threads; use 1 thread and more ranks")
        }
        let frozen = !model.store.frozenOffsets.isEmpty
        replicas = try (1..<threads).map { _ in
            let network = try model.config.build()
            let store = ParameterStore(sharingValuesOf: model.store)
            if frozen { network.freezeForFineTuning(store) }
            return (network, store)
        }
        threadSums = .allocate(capacity: threads)
        threadSums.initialize(repeating: 0, count: threads)
        Subnormals.flushToZero()
    }

    deinit { threadSums.deallocate() }

    /// Fills the batch with samples `ids` of `source` for training step `step` (timed as the step's data phase).
    public func load<Samples: Sequence<Int>>(_ ids: Samples, from source: any SampleSource, step: Int = 0) throws {
        var clock = ContinuousClock.now
        try source.load(ids, step: step, into: batch)
        timings.data += lap(&clock)
    }

    /// One step on the loaded batch (this rank's share of a global batch of `globalBatch` windows, the first
    /// being global sample `dropout.firstSample`): returns the global batch's mean loss per output element.
    public func trainStep(globalBatch: Int, dropout: Dropout.Context, learningRate: Float?, clip: Float?) throws -> Double {
        var clock = ContinuousClock.now
        store.zeroGradients()
        let sum = try forwardAndBackward(mode: .training(dropout, statistics: statistics), globalBatch: globalBatch, clock: &clock)
        var loss = sum
        if let world {
            try world.allreduce(inPlace: UnsafeMutableBufferPointer(start: store.gradients, count: store.count), op: .sum)
            loss = try world.allreduce(sum, op: .sum)
        }
        timings.allreduce += lap(&clock)
        if let clip { clipGradients(maxNorm: clip) }
        optimizer.update(store, learningRate: learningRate, threads: threads)
        timings.optimizer += lap(&clock)
        return loss / Double(globalBatch * network.lossTerms)
    }

    /// Forward in `mode`, the loss of the loaded batch scaled by 1 / (globalBatch · loss terms per sample), and
    /// backward of it into the gradient arena (which is not zeroed here). Returns this rank's loss numerator.
    public func forwardAndBackward(mode: ForwardMode, globalBatch: Int) throws -> Double {
        var clock = ContinuousClock.now
        return try forwardAndBackward(mode: mode, globalBatch: globalBatch, clock: &clock)
    }

    private func forwardAndBackward(mode: ForwardMode, globalBatch: Int, clock: inout ContinuousClock.Instant) throws -> Double {
        // A rank with no share of a small batch still runs (on 0 windows) when it must join batch statistics.
        guard batch.count > 0 || statistics != nil else { return 0 }
        guard !replicas.isEmpty else {
            let sum = passes(network, store, windows: 0..<batch.count, mode: mode, globalBatch: globalBatch, clock: &clock)
            try statistics?.check()
            return sum
        }
        // Threads: thread k takes windows [k·n/T, (k+1)·n/T) with its replica; their gradients are then added
        // to the main arena in thread order, so a run is reproducible for a given thread count.
        let n = batch.count, count = threads
        DispatchQueue.concurrentPerform(iterations: count) { k in
            Subnormals.flushToZero()  // per thread; the pool's threads are not ours to set up once
            let windows = share(of: n, part: k, parts: count)
            let (network, store) = k == 0 ? (self.network, self.store) : self.replicas[k - 1]
            if k > 0 { store.zeroGradients() }
            var ignored = ContinuousClock.now
            self.threadSums[k] = self.passes(network, store, windows: windows, mode: mode, globalBatch: globalBatch, clock: &ignored)
        }
        timings.forward += lap(&clock)
        // Each thread adds the replicas' gradients, in replica order, into its slice of the arena.
        let total = store.count
        DispatchQueue.concurrentPerform(iterations: count) { part in
            Subnormals.flushToZero()
            let into = self.store.gradients
            for replica in self.replicas {
                let from = replica.store.gradients
                for i in share(of: total, part: part, parts: count) { into[i] += from[i] }
            }
        }
        timings.backward += lap(&clock)
        var sum = 0.0
        for k in 0..<count { sum += threadSums[k] }
        return sum
    }

    /// `windows` in passes of at most `windowsPerPass` (one pass when a model with batch statistics needs the
    /// whole share, or when the share is empty); returns the summed loss numerators.
    private func passes(_ network: any TrainableModel, _ store: ParameterStore, windows: Range<Int>, mode: ForwardMode, globalBatch: Int,
                        clock: inout ContinuousClock.Instant) -> Double {
        var sum = 0.0, first = windows.lowerBound
        repeat {
            let end = windows.upperBound - first > windowsPerPass ? first + windowsPerPass : windows.upperBound
            sum += pass(network, store, windows: first..<end, mode: mode, globalBatch: globalBatch, clock: &clock)
            first = end
        } while first < windows.upperBound
        return sum
    }

    /// Forward, loss and backward of `windows` of the loaded batch on one model replica; returns the loss
    /// numerator. Dropout masks follow the windows' global sample numbers, so the split does not change them.
    private func pass(_ network: any TrainableModel, _ store: ParameterStore, windows: Range<Int>, mode: ForwardMode, globalBatch: Int,
                      clock: inout ContinuousClock.Instant) -> Double {
        guard !windows.isEmpty || statistics != nil else { return 0 }
        var shifted = mode
        if case .training(var context, let reducer, let backward) = mode {
            context.firstSample += windows.lowerBound
            shifted = .training(context, statistics: reducer, backward: backward)
        }
        let first = windows.lowerBound
        let y = network.forward(batch.past + first * batch.pastCount, batch: windows.count, mode: shifted, store)
        if replicas.isEmpty { timings.forward += lap(&clock) }
        let dy = gradient.pointer + first * network.outputCount
        let sum = network.lossSum(output: y, target: batch.future + first * batch.futureCount,
                                  weights: weighted ? UnsafePointer(batch.weights + first * network.weightCount) : nil,
                                  samples: windows.count, scale: 1 / Float(globalBatch * network.lossTerms), gradient: dy)
        network.backward(dy, store)
        if replicas.isEmpty { timings.backward += lap(&clock) }
        return sum
    }

    /// The loss numerator of the loaded batch, forward only (inference by default; the debug gradient check
    /// probes a training forward).
    public func lossSum(mode: ForwardMode = .inference) throws -> Double {
        guard batch.count > 0 else { return 0 }
        let n = network
        let y = n.forward(batch.past, batch: batch.count, mode: mode, store)
        return n.lossSum(output: y, target: batch.future, weights: weighted ? UnsafePointer(batch.weights) : nil,
                         samples: batch.count, scale: 0, gradient: nil)
    }

    /// The forecast of the loaded batch, [count, horizon, channels], valid until the next forward. With threads,
    /// each forecasts its share and the shares are gathered into one buffer.
    public func predict() -> UnsafePointer<Float> {
        guard !replicas.isEmpty else { return network.forward(batch.past, batch: batch.count, mode: .inference, store) }
        let n = batch.count, count = threads, perSample = network.outputCount
        let gathered = predictions.reserve(max(n, 1) * perSample)
        DispatchQueue.concurrentPerform(iterations: count) { k in
            Subnormals.flushToZero()
            let windows = share(of: n, part: k, parts: count)
            guard !windows.isEmpty else { return }
            let (network, store) = k == 0 ? (self.network, self.store) : self.replicas[k - 1]
            let y = network.forward(self.batch.past + windows.lowerBound * self.batch.pastCount, batch: windows.count, mode: .inference, store)
            (self.predictions.pointer + windows.lowerBound * perSample).update(from: y, count: windows.count * perSample)
        }
        return UnsafePointer(gathered)
    }

    /// Forecasts every window of `source` in order, a batch at a time: `body` gets the forecast and the batch.
    public func forEachBatch(of source: WindowSource, _ body: (UnsafePointer<Float>, WindowBatch) throws -> Void) throws {
        try source.forEachBatch(into: batch) { batch in try body(predict(), batch) }
    }

    /// torch.nn.utils.clip_grad_norm_: scale by max_norm / (‖g‖ + 1e-6) when that is below 1.
    func clipGradients(maxNorm: Float) {
        // Squares summed in Double on eight lanes (a single running sum was a latency-bound scalar loop).
        var lanes = SIMD8<Double>(), tail = 0.0
        for range in store.trainableRanges {
            var i = range.lowerBound
            while i + 8 <= range.upperBound {
                let g = SIMD8<Double>(UnsafeRawPointer(store.gradients + i).loadUnaligned(as: SIMD8<Float>.self))
                lanes += g * g
                i += 8
            }
            while i < range.upperBound { tail += Double(store.gradients[i]) * Double(store.gradients[i]); i += 1 }
        }
        let norm = Float((lanes.sum() + tail).squareRoot())
        let coefficient = maxNorm / (norm + 1e-6)
        guard coefficient < 1 else { return }
        for range in store.trainableRanges { for i in range { store.gradients[i] *= coefficient } }
    }

    private func lap(_ clock: inout ContinuousClock.Instant) -> Double {
        let now = ContinuousClock.now
        defer { clock = now }
        return (now - clock).inSeconds
    }
}

/// Batch statistics summed over the ranks of a data-parallel job (synchronised BatchNorm). A failed allreduce
/// is kept and thrown by the engine right after the pass, since a layer's forward cannot throw.
final class RankBatchStatistics: BatchStatisticsReducer, @unchecked Sendable {
    let world: Communicator
    private var failure: Error?

    init(_ world: Communicator) { self.world = world }

    func sum(_ values: UnsafeMutablePointer<Float>, count: Int) {
        guard failure == nil else { return }
        do { try world.allreduce(inPlace: UnsafeMutableBufferPointer(start: values, count: count), op: .sum) } catch { failure = error }
    }

    func check() throws {
        if let failure { throw TrainingError("synchronising batch statistics across ranks failed: \(failure)") }
    }
}

/// Time spent per phase of the training step, summed over steps.
public struct PhaseTimings: Sendable {
    public var data = 0.0, forward = 0.0, backward = 0.0, allreduce = 0.0, optimizer = 0.0
    public init() {}
    public func summary(steps: Int) -> String {
        let n = Double(steps), total = data + forward + backward + allreduce + optimizer
        func ms(_ x: Double) -> String { String(format: "%.2f ms", x / n * 1e3) }
        return "data \(ms(data)), forward \(ms(forward)), backward \(ms(backward)), allreduce \(ms(allreduce)) (\(String(format: "%.1f", 100 * allreduce / max(total, 1e-12)))%), optimizer \(ms(optimizer))"
    }
}

public struct TrainingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
