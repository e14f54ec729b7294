import AllocationCounter
import Corpus
import Models
import NN
import Optimizers
import TTM
@testable import Training
import XCTest

/// The engine's whole step (forward, weighted loss, backward, clip, AdamW) for every model kind makes no heap
/// allocation once the first step has sized its buffers (release build; launch/test.sh runs it there).
final class EngineAllocationTests: XCTestCase {
    private func allocationsPerStep(_ config: ModelConfig) throws -> (counts: [Int], losses: [Double]) {
        let model = try LoadedModel(config: config, seed: 5)
        let engine = try Engine(model: model, optimizer: AdamW(parameterCount: model.store.count), batchCapacity: 6, weighted: true, world: nil)
        let batch = engine.batch
        for i in 0..<(6 * batch.pastCount) { batch.past[i] = sin(Float(i) * 0.05) + 0.1 * Float(i % 7) }
        for i in 0..<(6 * batch.futureCount) { batch.future[i] = cos(Float(i) * 0.05) }
        for i in 0..<(6 * batch.channels) { batch.weights[i] = 1 / Float(1 + i % 3) }
        batch.count = 6
        func step(_ index: Int) throws -> Double {
            try engine.trainStep(globalBatch: 6, dropout: .init(seed: 2, step: index, firstSample: 0), learningRate: 1e-3, clip: 1)
        }
        // Two warm-up steps: the first sizes every buffer; in a debug build the runtime also fills caches on the
        // second.
        var counts: [Int] = [], losses: [Double] = [try step(0), try step(1)]
        counts.reserveCapacity(5)
        losses.reserveCapacity(7)
        for index in 2...6 {
            ttm_allocation_counting(1)
            let loss = try step(index)
            ttm_allocation_counting(0)
            counts.append(ttm_allocation_count())
            losses.append(loss)
        }
        return (counts, losses)
    }

    func testEngineStepAllocatesNothingAfterTheFirst() throws {
        let ttm = ModelConfig.ttm(TTMConfig(contextLength: 32, predictionLength: 8, patchLength: 8, dModel: 16, numLayers: 1,
                                            adaptivePatchingLevels: 2, decoderNumLayers: 1, decoderDModel: 8, dropout: 0.2, headDropout: 0.2))
        let mixer = ModelConfig.tsmixer(.init(seqLen: 32, predLen: 8, nFeatures: 3, nBlocks: 2, ffDim: 8, dropout: 0.2, useNorm: true, normAffine: true))
        for config in [ttm, mixer] {
            let (counts, losses) = try allocationsPerStep(config)
            XCTAssertTrue(losses.allSatisfy(\.isFinite), "\(config.kind): \(losses)")
            #if DEBUG
            // Unoptimised builds allocate in the standard library's unspecialised generic paths; only check that
            // nothing grows from step to step. The claim itself is checked in the optimised build.
            XCTAssertEqual(Set(counts).count, 1, "\(config.kind): allocations per step vary: \(counts)")
            #else
            XCTAssertEqual(counts, [0, 0, 0, 0, 0], "\(config.kind): heap allocations in engine steps 3 to 7")
            #endif
        }
    }
}
