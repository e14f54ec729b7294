import Foundation
import XCTest
import NN
import TSMixer
import Optimizers

final class OverfitTests: XCTestCase {
    /// The 7 value columns of ETTh1 (the date column dropped), row-major [rows, 7].
    static func loadETTh1(rows: Int) throws -> [Float] {
        let path = SharedFolder.url.appendingPathComponent("datasets/ETT-small/ETTh1.csv").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw FixtureMissing(path: path) }
        var values: [Float] = []
        for line in text.split(separator: "\n").dropFirst().prefix(rows) {
            let cells = line.split(separator: ",").dropFirst()
            XCTAssertEqual(cells.count, 7)
            values += cells.map { Float($0)! }
        }
        return values
    }

    /// A fixed batch of 16 windows (context 96, horizon 24, 7 channels): training with dropout on must drive
    /// the MSE down at least tenfold within 300 AdamW steps.
    func testTSMixerOverfitsAFixedETTh1Batch() throws {
        let context = 96, horizon = 24, channels = 7, batch = 16
        let series = try Self.loadETTh1(rows: 4000)
        var inputs: [Float] = [], targets: [Float] = []
        for b in 0..<batch {
            let start = 37 + b * 211
            inputs += series[(start * channels)..<((start + context) * channels)]
            targets += series[((start + context) * channels)..<((start + context + horizon) * channels)]
        }
        let model = try TSMixer(config: .init(seqLen: context, predLen: horizon, nFeatures: channels, nBlocks: 2,
                                              ffDim: 32, dropout: 0.1, useNorm: true, normAffine: false))
        let store = ParameterStore(layout: model.layout)
        model.initialize(store, seed: 2024)
        let optimizer = AdamW(parameterCount: store.count, hyperparameters: .init(learningRate: 3e-3, weightDecay: 0))
        let gradient = FloatBuffer(capacity: targets.count)
        var losses: [Double] = []
        try inputs.withUnsafeBufferPointer { x in
            try targets.withUnsafeBufferPointer { t in
                for step in 0..<300 {
                    store.zeroGradients()
                    let y = model.forward(x.baseAddress!, batch: batch, mode: .training(.init(seed: 1, step: step, firstSample: 0)), store)
                    let loss = Loss.mse.value(prediction: y, target: t.baseAddress!, count: targets.count)
                    guard loss.isFinite else { throw FixtureMissing(path: "loss became \(loss) at step \(step)") }
                    losses.append(loss)
                    Loss.mse.gradient(prediction: y, target: t.baseAddress!, into: gradient.pointer, count: targets.count)
                    model.backward(gradient.pointer, dx: nil, store)
                    optimizer.update(store)
                }
            }
        }
        let first = losses[0], last = losses.suffix(10).reduce(0, +) / 10
        print("TSMixer overfit on ETTh1: MSE \(first) -> \(last) (\(first / last)x) in \(losses.count) steps")
        XCTAssertGreaterThanOrEqual(first / last, 10, "MSE fell only from \(first) to \(last)")
    }
}
