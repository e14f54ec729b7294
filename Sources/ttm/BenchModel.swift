import ArgumentParser
import BLAS
import Foundation
import Training
import NN
import Optimizers
import TTM

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "TTM training throughput: samples/s, step-time split and achieved GFLOP/s against the sgemm peak.",
        discussion: "Defaults: context 512, horizon 96, patch 64, d_model 192, adaptive_patching_levels 3, num_layers 2, decoder 2 layers of width 128, batch 64, 1 thread.")

    @Option(help: "OpenBLAS threads.") var threads: Int = 1
    @Option(help: "Series per batch.") var batch: Int = 64
    @Option(help: "Timed steps per mode (after two warm-up steps).") var steps: Int = 10
    @Option var context: Int = 512
    @Option var horizon: Int = 96
    @Option var patch: Int = 64
    @Option var dModel: Int = 192
    @Option var levels: Int = 3
    @Option var layers: Int = 2
    @Option var decoderLayers: Int = 2
    @Option var decoderWidth: Int = 128

    func validate() throws {
        for (name, value) in [("--threads", threads), ("--batch", batch), ("--steps", steps)] where value < 1 {
            throw ValidationError("\(name) must be at least 1 (got \(value))")
        }
    }

    func run() throws {
        OpenBLAS.threadCount = threads
        let config = TTMConfig(contextLength: context, predictionLength: horizon, patchLength: patch, numInputChannels: 1,
                               dModel: dModel, expansionFactor: 2, numLayers: layers, adaptivePatchingLevels: levels,
                               decoderNumLayers: decoderLayers, decoderDModel: decoderWidth, dropout: 0.2, headDropout: 0.2)
        let peak = GEMMTiming.measure(m: 3584, n: 384, k: 192, seconds: 0.5).median
        print("OpenBLAS \(OpenBLAS.coreName) (\(OpenBLAS.kernelChoice)), \(threads) thread(s); sgemm 3584x384x192: \(String(format: "%.1f", peak)) GFLOP/s")
        let model = try TTMModel(config: config)
        print("model: \(model.layout.count.grouped) parameters (backbone \(model.backboneParameterCount.grouped)), batch \(batch), context \(context), horizon \(horizon)")
        print("mode        samples/s   step ms   forward   backward  optimizer   GFLOP/s   of peak")
        for fineTune in [false, true] {
            let result = try measure(model: model, fineTune: fineTune)
            let label = fineTune ? "fine-tune" : "pretrain"
            let line = String(format: "%-10@ %10.1f %9.2f %9.2f %10.2f %10.2f %9.1f %8.0f%%",
                              label as NSString, Double(batch) / result.step, result.step * 1e3, result.forward * 1e3,
                              result.backward * 1e3, result.optimizer * 1e3, result.gflops, 100 * result.gflops / peak)
            print(line)
        }
        print("(GFLOP/s counts the GEMM work only; elementwise kernels add time, not counted FLOPs)")
    }

    struct Timing { var forward = 0.0, backward = 0.0, optimizer = 0.0, gflops = 0.0; var step: Double { forward + backward + optimizer } }

    private func measure(model: TTMModel, fineTune: Bool) throws -> Timing {
        let store = ParameterStore(layout: model.layout)
        model.initialize(store, seed: 1)
        model.backboneFrozen = fineTune
        if fineTune { store.setFrozen(true, prefix: "backbone.") }
        let optimizer = AdamW(parameterCount: store.count)
        var generator = SplitMix64(seed: 7)
        let c = model.config
        let past = (0..<(batch * c.contextLength)).map { _ in generator.nextUnitFloat() }
        let future = (0..<(batch * c.predictionLength)).map { _ in generator.nextUnitFloat() }
        let gradient = FloatBuffer(capacity: future.count)
        let clock = ContinuousClock()
        var timing = Timing()
        var flops = 0
        try past.withUnsafeBufferPointer { x in
            try future.withUnsafeBufferPointer { t in
                for step in 0..<(steps + 2) {
                    let timed = step >= 2
                    let flopsBefore = GEMMStatistics.flops
                    store.zeroGradients()
                    var y: UnsafePointer<Float>!
                    let f = clock.measure {
                        y = model.forward(x.baseAddress!, batch: batch, mode: .training(.init(seed: 3, step: step, firstSample: 0)), store)
                    }
                    let b = clock.measure {
                        Loss.mse.gradient(prediction: y, target: t.baseAddress!, into: gradient.pointer, count: future.count)
                        model.backward(gradient.pointer, dPast: nil, store)
                    }
                    let o = clock.measure { optimizer.update(store) }
                    guard Loss.mse.value(prediction: y, target: t.baseAddress!, count: future.count).isFinite else {
                        throw ValidationError("loss is not finite at step \(step)")
                    }
                    if timed {
                        timing.forward += f.inSeconds; timing.backward += b.inSeconds; timing.optimizer += o.inSeconds
                        flops += GEMMStatistics.flops - flopsBefore
                    }
                }
            }
        }
        let n = Double(steps)
        timing.forward /= n; timing.backward /= n; timing.optimizer /= n
        timing.gflops = Double(flops) / n / timing.step / 1e9
        return timing
    }
}
