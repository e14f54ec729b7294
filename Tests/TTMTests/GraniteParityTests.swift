import Checkpoint
import Foundation
import NN
import Optimizers
@testable import TTM
import XCTest

/// Every folder of ../shared/fixtures/granite-ttm: outputs, loc, scale and both hidden states within 1e-5
/// absolute; the loss; every gradient within 1e-4·max|grad| of its tensor; one AdamW step within 1e-6.
final class GraniteParityTests: XCTestCase {
    private func check(_ folder: String) throws {
        let root = Shared.granite(folder)
        let (model, store) = try loadTTM(root.appendingPathComponent("model").path)
        let past = try readFloats(root.appendingPathComponent("past_values.f32"))
        let future = try readFloats(root.appendingPathComponent("future_values.f32"))
        let c = model.config
        let batch = past.count / (c.contextLength * c.numInputChannels)
        XCTAssertEqual(batch, 4)
        let outputCount = batch * c.predictionLength * c.numInputChannels

        try past.withUnsafeBufferPointer { x in
            let y = Array(UnsafeBufferPointer(start: model.forward(x.baseAddress!, batch: batch, mode: .inference, store), count: outputCount))
            let expected = try readFloats(root.appendingPathComponent("prediction_outputs.f32"))
            XCTAssertLessThanOrEqual(maxAbsDifference(y, expected), 1e-5, "\(folder) prediction_outputs")
            let bc = batch * c.numInputChannels
            XCTAssertLessThanOrEqual(maxAbsDifference(Array(UnsafeBufferPointer(start: model.location!, count: bc)),
                                                      try readFloats(root.appendingPathComponent("loc.f32"))), 1e-5, "\(folder) loc")
            XCTAssertLessThanOrEqual(maxAbsDifference(Array(UnsafeBufferPointer(start: model.scale!, count: bc)),
                                                      try readFloats(root.appendingPathComponent("scale.f32"))), 1e-5, "\(folder) scale")
            let hidden = bc * c.numPatches
            XCTAssertLessThanOrEqual(maxAbsDifference(Array(UnsafeBufferPointer(start: model.backboneHiddenState!, count: hidden * c.dModel)),
                                                      try readFloats(root.appendingPathComponent("backbone_hidden_state.f32"))), 1e-5, "\(folder) backbone_hidden_state")
            XCTAssertLessThanOrEqual(maxAbsDifference(Array(UnsafeBufferPointer(start: model.decoderHiddenState!, count: hidden * c.decoderDModel)),
                                                      try readFloats(root.appendingPathComponent("decoder_hidden_state.f32"))), 1e-5, "\(folder) decoder_hidden_state")

            // Loss (MSE in original units) and its gradients.
            let loss = future.withUnsafeBufferPointer { Loss.mse.value(prediction: y, target: $0.baseAddress!, count: outputCount) }
            let expectedLoss = try readFloats(root.appendingPathComponent("loss.f32"))[0]
            XCTAssertEqual(loss, Double(expectedLoss), accuracy: 1e-5 * max(1, Double(expectedLoss)), "\(folder) loss")
            let forecast = model.forward(x.baseAddress!, batch: batch, mode: .inference, store)
            var dy = [Float](repeating: 0, count: outputCount)
            future.withUnsafeBufferPointer { t in dy.withUnsafeMutableBufferPointer {
                Loss.mse.gradient(prediction: forecast, target: t.baseAddress!, into: $0.baseAddress!, count: outputCount)
            } }
            store.zeroGradients()
            dy.withUnsafeBufferPointer { model.backward($0.baseAddress!, dPast: nil, store) }
        }
        let grads = try SafeTensors.read(contentsOf: root.appendingPathComponent("grads.safetensors").path)
        XCTAssertEqual(Set(grads.names), Set(store.layout.views.map(\.name)))
        for view in store.layout.views {
            let expected = try grads.floats(view.name)
            let scale = max(expected.map(abs).max()!, 1e-12)
            XCTAssertLessThanOrEqual(maxAbsDifference(store.gradientArray(view), expected), 1e-4 * scale, "\(folder) grad \(view.name)")
        }
        // One AdamW step on the reference gradients (the fixture's definition). From our own gradients the step
        // differs by up to ~2e-6 where |g| is near AdamW's epsilon: there m/√v ≈ ±1 amplifies 1e-7 differences.
        for view in store.layout.views {
            try grads.copy(view.name, into: UnsafeMutableBufferPointer(start: store.gradient(view), count: view.count))
        }
        let optimizer = AdamW(parameterCount: store.count, hyperparameters: .init(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01))
        optimizer.update(store)
        let after = try SafeTensors.read(contentsOf: root.appendingPathComponent("adamw_step1.safetensors").path)
        for view in store.layout.views {
            XCTAssertLessThanOrEqual(maxAbsDifference(store.array(view), try after.floats(view.name)), 1e-6, "\(folder) AdamW \(view.name)")
        }
    }

    func testSmall() throws { try check("small") }
    func testAdaptivePatchingLevels2() throws { try check("small_apl2") }
    func testMixChannelDecoder() throws { try check("small_mixchannel") }
}
