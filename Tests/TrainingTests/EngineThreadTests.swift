import Models
import NN
import Optimizers
import TTM
@testable import Training
import XCTest

/// Splitting a batch among threads (model replicas sharing the parameter values) computes the same step up to
/// float summation order, reproducibly for a given thread count, also with a frozen backbone; a model with
/// BatchNorm is refused more than one thread.
final class EngineThreadTests: XCTestCase {
    private let config = ModelConfig.ttm(TTMConfig(contextLength: 32, predictionLength: 8, patchLength: 8, dModel: 16, numLayers: 1,
                                                   adaptivePatchingLevels: 2, decoderNumLayers: 1, decoderDModel: 8, dropout: 0.2, headDropout: 0.2))

    private func run(threads: Int, frozen: Bool = false, steps: Int = 3) throws -> (losses: [Double], values: [Float], forecast: [Float]) {
        let model = try LoadedModel(config: config, seed: 5)
        if frozen { model.network.freezeForFineTuning(model.store) }
        let engine = try Engine(model: model, optimizer: AdamW(parameterCount: model.store.count), batchCapacity: 7, weighted: true, world: nil, threads: threads)
        let batch = engine.batch
        for i in 0..<(7 * batch.pastCount) { batch.past[i] = sin(Float(i) * 0.05) + 0.1 * Float(i % 7) }
        for i in 0..<(7 * batch.futureCount) { batch.future[i] = cos(Float(i) * 0.05) }
        for i in 0..<(7 * batch.channels) { batch.weights[i] = 1 / Float(1 + i % 3) }
        batch.count = 7
        var losses: [Double] = []
        for step in 0..<steps {
            losses.append(try engine.trainStep(globalBatch: 7, dropout: .init(seed: 2, step: step, firstSample: 0), learningRate: 1e-2, clip: 1))
        }
        let y = engine.predict()
        return (losses, Array(UnsafeBufferPointer(start: model.store.values, count: model.store.count)),
                Array(UnsafeBufferPointer(start: y, count: 7 * batch.futureCount)))
    }

    func testThreadsComputeTheSameStepsAsOne() throws {
        for frozen in [false, true] {
            let one = try run(threads: 1, frozen: frozen), three = try run(threads: 3, frozen: frozen)
            for (a, b) in zip(one.losses, three.losses) { XCTAssertEqual(a, b, accuracy: 1e-5 * abs(a), "frozen \(frozen)") }
            let scale = one.values.map(abs).max()!
            for (a, b) in zip(one.values, three.values) { XCTAssertEqual(a, b, accuracy: 1e-5 * scale, "frozen \(frozen)") }
            for (a, b) in zip(one.forecast, three.forecast) { XCTAssertEqual(a, b, accuracy: 1e-4 * max(1, abs(a))) }
            XCTAssertEqual(try run(threads: 3, frozen: frozen).values, three.values, "reproducible for a thread count")
        }
    }

    /// The gradient of a batch taken in passes of a few windows (`windowsPerPass`), with and without threads, is
    /// the one-pass gradient up to summation order: every layer adds its parameter gradients into the arena
    /// rather than writing them, and each window keeps its dropout mask. A layer that wrote its gradient would
    /// leave only the last pass's share here.
    func testPassesOfFewWindowsAddUpToTheWholeBatchGradient() throws {
        func gradient(windowsPerPass: Int, threads: Int = 1, frozen: Bool = false) throws -> [Float] {
            let model = try LoadedModel(config: config, seed: 5)
            if frozen { model.network.freezeForFineTuning(model.store) }
            let engine = try Engine(model: model, optimizer: AdamW(parameterCount: model.store.count), batchCapacity: 7, weighted: true,
                                    world: nil, threads: threads, windowsPerPass: windowsPerPass)
            XCTAssertEqual(engine.windowsPerPass, windowsPerPass)
            let batch = engine.batch
            for i in 0..<(7 * batch.pastCount) { batch.past[i] = sin(Float(i) * 0.07) + 0.1 * Float(i % 5) }
            for i in 0..<(7 * batch.futureCount) { batch.future[i] = cos(Float(i) * 0.03) }
            for i in 0..<(7 * batch.channels) { batch.weights[i] = 1 }
            batch.count = 7
            model.store.zeroGradients()
            _ = try engine.forwardAndBackward(mode: .training(.init(seed: 4, step: 1, firstSample: 0)), globalBatch: 7)
            return Array(UnsafeBufferPointer(start: model.store.gradients, count: model.store.count))
        }
        for frozen in [false, true] {
            let whole = try gradient(windowsPerPass: 7, frozen: frozen)
            let scale = whole.map(abs).max()!
            XCTAssertGreaterThan(scale, 0)
            for (windowsPerPass, threads) in [(1, 1), (3, 1), (2, 2)] {
                let split = try gradient(windowsPerPass: windowsPerPass, threads: threads, frozen: frozen)
                let worst = zip(whole, split).map { abs($0 - $1) }.max()!
                XCTAssertLessThan(worst, 1e-5 * scale, "passes of \(windowsPerPass), \(threads) thread(s), frozen \(frozen)")
            }
        }
        let model = try LoadedModel(config: config, seed: 5)
        XCTAssertThrowsError(try Engine(model: model, optimizer: AdamW(parameterCount: model.store.count), batchCapacity: 4, weighted: true,
                                        world: nil, windowsPerPass: 0)) { XCTAssertTrue("\($0)".contains("'training.micro_batch'"), "\($0)") }
    }

    func testBatchNormModelsTakeOneThread() throws {
        let mixer = try LoadedModel(config: .tsmixer(.init(seqLen: 16, predLen: 4, nFeatures: 2, nBlocks: 1, ffDim: 4)), seed: 1)
        XCTAssertThrowsError(try Engine(model: mixer, optimizer: AdamW(parameterCount: mixer.store.count), batchCapacity: 4, weighted: true, world: nil, threads: 2)) {
            XCTAssertTrue("\($0)".contains("'training.threads'"), "\($0)")
        }
    }
}
