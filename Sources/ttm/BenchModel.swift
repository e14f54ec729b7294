import ArgumentParser
import BLAS
import Foundation
import Models
import MPI
import NN
import Optimizers
import Training
import TTM

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Training and inference throughput of one model: samples/s, the step split, GEMM GFLOP/s against the sgemm peak.",
        discussion: """
            A sample is one window of context + horizon steps of one series with the model's channels (for a \
            channel-independent TTM: one univariate window). Every mode runs the product's own engine on random \
            windows: pretrain (forward, loss, backward, clip, AdamW), fine-tune (the frozen part skipped), \
            inference (forward only, no dropout). "outside GEMM" is the step time not spent in sgemm: \
            elementwise kernels, transposes, dropout masks, the loss and the optimizer. Without --config the \
            model is the issue's reference TTM: context 512, horizon 96, patch 64, d_model 192, 3 adaptive \
            patching levels, 2 layers, decoder 2 x 128, dropout 0.2.

            Under `mpirun -np N` every rank runs its own --batch windows and the training modes allreduce the \
            gradients each step, as pretraining does; samples/s is then the total over the ranks (rank 0 prints, \
            with the allreduce time). launch/bench-ranks.sh compares 1 and N ranks in alternating rounds.
            """)

    @Option(help: "A run config (.yaml, its model section) or a model folder's config.json.") var config: String?
    @Option(help: "Threads: the batch is split among this many threads, each with a model replica and single-threaded GEMMs (a model with BatchNorm gives them to its GEMMs instead).")
    var threads: Int = 1
    @Option(help: "Samples per batch.") var batch: Int = 64
    @Option(help: "Windows per forward/backward pass (gradients accumulated over the passes of a batch); default: 16 series per pass.")
    var microBatch: Int?
    @Option(help: "Timed steps per mode (after two warm-up steps).") var steps: Int = 10
    @Flag(help: "Print one JSON object per mode instead of the table.") var json = false
    @Option(name: .customLong("mode"), help: "Only these modes (repeat): pretrain, fine-tune, inference.") var modes: [Mode] = []
    @Option(help: "Write the model's config.json (its reference's format) to this path and exit, so a reference implementation can build the same architecture.")
    var saveConfig: String?

    func validate() throws {
        for (name, value) in [("--threads", threads), ("--batch", batch), ("--steps", steps), ("--micro-batch", microBatch ?? 1)] where value < 1 {
            throw ValidationError("\(name) must be at least 1 (got \(value))")
        }
    }

    static let reference = ModelConfig.ttm(TTMConfig(
        contextLength: 512, predictionLength: 96, patchLength: 64, numInputChannels: 1, dModel: 192, expansionFactor: 2,
        numLayers: 2, adaptivePatchingLevels: 3, decoderNumLayers: 2, decoderDModel: 128, dropout: 0.2, headDropout: 0.2))

    func architecture() throws -> ModelConfig {
        guard let config else { return Self.reference }
        if config.lowercased().hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: config) else { throw ValidationError("--config: cannot read \(config)") }
            return try ModelConfig(configJSON: data, source: config)
        }
        return try RunConfig.load(config).model
    }

    enum Mode: String, CaseIterable, ExpressibleByArgument { case pretrain, finetune = "fine-tune", inference }

    struct Timing: Encodable {
        var mode = "", samplesPerSecond = 0.0, stepMilliseconds = 0.0, forwardMilliseconds = 0.0, backwardMilliseconds = 0.0
        var optimizerMilliseconds = 0.0, gemmMilliseconds = 0.0, outsideGemmMilliseconds = 0.0, gemmGflops = 0.0
        var ofPeak = 0.0, peakGflops = 0.0, threads = 0, batch = 0, parameters = 0, sample = ""
        var ranks = 1, allreduceMilliseconds = 0.0
        /// The step's GEMM work, and the engine GEMM's rate on 3584x384x192 (its best shape) for the threads in use.
        var gemmGflopPerStep = 0.0, engineGemmGflops = 0.0
    }

    func run() throws {
        let architecture = try architecture()
        if let saveConfig {
            try architecture.jsonData().write(to: URL(fileURLWithPath: saveConfig), options: .atomic)
            return
        }
        let probe = try LoadedModel(config: architecture, seed: 1)
        let n = try probe.forecaster("ttm bench")
        // MPI only when mpirun started several ranks (Open MPI tells each rank the job's size): alone, the
        // benchmark needs no MPI at all.
        let ranksStarted = Int(ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] ?? "") ?? 1
        let world = ranksStarted > 1 ? try Communicator.world() : nil
        let prints = world?.isRoot ?? true
        let engineThreads = n.usesBatchStatistics ? 1 : threads
        OpenBLAS.threadCount = threads / engineThreads
        let peak = GEMMTiming.measure(m: 3584, n: 384, k: 192, seconds: 0.5).median * Double(engineThreads)
        let enginePeak = GEMMTiming.measure(m: 3584, n: 384, k: 192, seconds: 0.5, engine: true).median * Double(engineThreads)
        let sample = "one window of \(n.contextLength) + \(n.predictionLength) steps x \(n.channels) channel(s)"
        if let world, prints, !json {
            print("\(world.size) ranks, \(batch) samples each; samples/s is their total, the step split rank 0's")
        }
        if prints, !json {
            print("\(engineThreads) engine thread(s) x \(OpenBLAS.threadCount) GEMM thread(s); sgemm 3584x384x192 peak for them "
                  + "(OpenBLAS \(OpenBLAS.coreName), \(OpenBLAS.kernelChoice)): \(String(format: "%.1f", peak)) GFLOP/s")
            print("engine loops and GEMM: \(ElementwiseLoops.description); its GEMM on that shape: \(String(format: "%.1f", enginePeak)) GFLOP/s")
            print("model: \(architecture.kind.rawValue), \(probe.store.count.grouped) parameters, batch \(batch); a sample is \(sample)")
            print("mode        samples/s   step ms   forward  backward  optimizer   in GEMM  outside GEMM  GFLOP/s  of peak")
        }
        for mode in modes.isEmpty ? Mode.allCases : modes {
            var timing = try measure(architecture, mode: mode, engineThreads: engineThreads, world: world)
            timing.peakGflops = peak
            timing.ofPeak = timing.gemmGflops / peak
            timing.engineGemmGflops = enginePeak
            timing.threads = threads
            timing.batch = batch
            timing.parameters = probe.store.count
            timing.sample = sample
            timing.ranks = world?.size ?? 1
            guard prints else { continue }
            if json {
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                print(String(decoding: try encoder.encode(timing), as: UTF8.self))
            } else {
                print(String(format: "%-10@ %10.1f %9.2f %9.2f %9.2f %10.2f %9.2f %13.2f %8.1f %7.0f%%",
                             mode.rawValue as NSString, timing.samplesPerSecond, timing.stepMilliseconds, timing.forwardMilliseconds,
                             timing.backwardMilliseconds, timing.optimizerMilliseconds, timing.gemmMilliseconds,
                             timing.outsideGemmMilliseconds, timing.gemmGflops, 100 * timing.ofPeak))
                if world != nil && mode != .inference {
                    print(String(format: "           allreduce %.2f ms of the step (waiting for the slowest rank included)", timing.allreduceMilliseconds))
                }
            }
        }
        if prints, !json { print("(GFLOP/s: the step's GEMM FLOPs over the whole step time; of peak: that against the sgemm peak above)") }
    }

    private func measure(_ architecture: ModelConfig, mode: Mode, engineThreads: Int, world: Communicator?) throws -> Timing {
        let ranks = world?.size ?? 1, rank = world?.rank ?? 0
        let model = try LoadedModel(config: architecture, seed: 1)
        if mode == .finetune { model.network.freezeForFineTuning(model.store) }
        let engine = try Engine(model: model, optimizer: AdamW(parameterCount: model.store.count), batchCapacity: batch, capacityKey: "--batch",
                                weighted: false, world: world, threads: engineThreads, windowsPerPass: microBatch)
        var generator = SplitMix64(seed: 7 &+ UInt64(rank))
        for i in 0..<(batch * engine.batch.pastCount) { engine.batch.past[i] = generator.nextUnitFloat() }
        for i in 0..<(batch * engine.batch.futureCount) { engine.batch.future[i] = generator.nextUnitFloat() }
        engine.batch.count = batch
        let clock = ContinuousClock()
        var timing = Timing(mode: mode.rawValue)
        var flops = 0, gemm = 0.0, total = 0.0
        for step in 0..<(steps + 2) {
            let timed = step >= 2
            let flopsBefore = GEMMStatistics.flops, gemmBefore = GEMMStatistics.seconds
            engine.timings = PhaseTimings()
            try world?.barrier()  // every rank starts the step together, as after a real step's allreduce
            GEMMStatistics.timing = true
            let elapsed = try clock.measure {
                if mode == .inference {
                    _ = engine.predict()
                } else {
                    let loss = try engine.trainStep(globalBatch: batch * ranks, dropout: .init(seed: 3, step: step, firstSample: rank * batch),
                                                    learningRate: 1e-4, clip: 1)
                    guard loss.isFinite else { throw ValidationError("loss is not finite at step \(step)") }
                }
            }.inSeconds
            GEMMStatistics.timing = false
            guard timed else { continue }
            total += elapsed
            timing.forwardMilliseconds += mode == .inference ? elapsed * 1e3 : engine.timings.forward * 1e3
            timing.backwardMilliseconds += engine.timings.backward * 1e3
            timing.optimizerMilliseconds += engine.timings.optimizer * 1e3
            timing.allreduceMilliseconds += engine.timings.allreduce * 1e3
            flops += GEMMStatistics.flops - flopsBefore
            gemm += GEMMStatistics.seconds - gemmBefore
        }
        let n = Double(steps)
        timing.stepMilliseconds = total / n * 1e3
        // Inference steps run unsynchronised: the total rate is the sum of the ranks' rates.
        let rate = Double(batch) * n / total
        let summed = try world?.allreduce(rate, op: .sum) ?? rate
        timing.samplesPerSecond = mode == .inference ? summed : rate * Double(ranks)
        timing.allreduceMilliseconds /= n
        timing.forwardMilliseconds /= n
        timing.backwardMilliseconds /= n
        timing.optimizerMilliseconds /= n
        // With threads the sgemm time adds up over them: per thread it is the share of the wall time.
        timing.gemmMilliseconds = gemm / Double(engineThreads) / n * 1e3
        timing.outsideGemmMilliseconds = (total - gemm / Double(engineThreads)) / n * 1e3
        timing.gemmGflops = Double(flops) / total / 1e9
        timing.gemmGflopPerStep = Double(flops) / n / 1e9
        return timing
    }
}
