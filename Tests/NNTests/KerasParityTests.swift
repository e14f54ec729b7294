import Foundation
import XCTest
@testable import NN
@testable import TSMixer

/// Every case and both variants of ../shared/fixtures/kerasfactory: inference before and after a training
/// call, the training output, the loss, input and weight gradients, and the BatchNorm moving statistics.
final class KerasParityTests: XCTestCase {
    private func build(_ fixture: KerasFixture, case name: String) throws -> (SequenceLayer, ParameterLayout) {
        let c = fixture.config
        func int(_ key: String) -> Int { c[key] as! Int }
        let dropout = Float(c["dropout"] as! Double)
        var layout = ParameterLayout()
        switch name {
        case "temporal_mixing":
            let layer = TemporalMixing("", config: .init(nSeries: int("n_series"), inputSize: int("input_size"), dropout: dropout), layout: &layout)
            return (layer, layout)
        case "feature_mixing", "mixing_layer", "mixing_stack2":
            let config = FeatureMixing.Config(nSeries: int("n_series"), inputSize: int("input_size"), dropout: dropout, ffDim: int("ff_dim"))
            let layer: SequenceLayer = switch name {
            case "feature_mixing": FeatureMixing("", config: config, layout: &layout)
            case "mixing_layer": MixingLayer("", config: config, layout: &layout)
            default: MixingStack("", blocks: int("n_layers"), config: config, layout: &layout)
            }
            return (layer, layout)
        default:
            let model = try TSMixer(config: .init(
                seqLen: int("seq_len"), predLen: int("pred_len"), nFeatures: int("n_features"), nBlocks: int("n_blocks"),
                ffDim: int("ff_dim"), dropout: dropout, useNorm: c["use_norm"] as! Bool, normAffine: c["norm_affine"] as! Bool))
            return (model, model.layout)
        }
    }

    private func check(case name: String, variant: String) throws {
        let fixture = try KerasFixture(case: name, variant: variant)
        let (layer, layout) = try build(fixture, case: name)
        let store = ParameterStore(layout: layout)

        // Load w0: every Keras variable maps to exactly one of ours, and every one of ours is loaded.
        let kerasNames = try fixture.names(in: "w0")
        XCTAssertEqual(Set(kerasNames.map(KerasFixture.ourName)), Set(layout.views.map(\.name)), "\(name): parameter names")
        for kerasName in kerasNames {
            let view = try XCTUnwrap(layout[KerasFixture.ourName(kerasName)], kerasName)
            store.set(view, to: KerasFixture.convert(try fixture.tensor("w0/" + kerasName), kerasName: kerasName, to: view))
        }

        let x = try fixture.tensor("x"), g = try fixture.tensor("g")
        let batch = 4
        let outputCount = batch * layer.outputLength * layer.channels
        let what = "\(name)/\(variant)"

        try x.withUnsafeBufferPointer { xp in
            let yPre = Array(UnsafeBufferPointer(start: layer.forward(xp.baseAddress!, batch: batch, mode: .inference, store), count: outputCount))
            assertClose(yPre, try fixture.tensor("y_infer_pre"), relativeTo: 1e-5, "\(what) y_infer_pre")

            let training = ForwardMode.training(.init(seed: 1, step: 0, firstSample: 0))
            let yTrainPointer = layer.forward(xp.baseAddress!, batch: batch, mode: training, store)
            let yTrain = Array(UnsafeBufferPointer(start: yTrainPointer, count: outputCount))
            assertClose(yTrain, try fixture.tensor("y_train"), relativeTo: 1e-5, "\(what) y_train")
            let loss = zip(yTrain, g).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let expectedLoss = try fixture.tensor("loss")[0]
            XCTAssertEqual(loss, Double(expectedLoss), accuracy: 1e-5 * max(1, abs(Double(expectedLoss))), "\(what) loss")

            store.zeroGradients()
            var dx = [Float](repeating: 0, count: x.count)
            g.withUnsafeBufferPointer { gp in
                dx.withUnsafeMutableBufferPointer { layer.backward(gp.baseAddress!, dx: $0.baseAddress!, store) }
            }
            assertClose(dx, try fixture.tensor("grad/x"), relativeTo: 1e-4, "\(what) grad x")
            for kerasName in try fixture.names(in: "grad") where kerasName != "x" {
                let view = try XCTUnwrap(layout[KerasFixture.ourName(kerasName)], kerasName)
                let expected = KerasFixture.convert(try fixture.tensor("grad/" + kerasName), kerasName: kerasName, to: view)
                assertClose(store.gradientArray(view), expected, relativeTo: 1e-4, "\(what) grad \(kerasName)")
            }
            for kerasName in try fixture.names(in: "moving_after") {
                let view = try XCTUnwrap(layout[kerasName], kerasName)
                assertClose(store.array(view), try fixture.tensor("moving_after/" + kerasName), relativeTo: 1e-5, "\(what) \(kerasName)")
            }

            let yPost = Array(UnsafeBufferPointer(start: layer.forward(xp.baseAddress!, batch: batch, mode: .inference, store), count: outputCount))
            assertClose(yPost, try fixture.tensor("y_infer_post"), relativeTo: 1e-5, "\(what) y_infer_post")
        }
    }

    func testTemporalMixing() throws { for v in ["init", "perturbed"] { try check(case: "temporal_mixing", variant: v) } }
    func testFeatureMixing() throws { for v in ["init", "perturbed"] { try check(case: "feature_mixing", variant: v) } }
    func testMixingLayer() throws { for v in ["init", "perturbed"] { try check(case: "mixing_layer", variant: v) } }
    func testMixingStackOfTwo() throws { for v in ["init", "perturbed"] { try check(case: "mixing_stack2", variant: v) } }
    func testTSMixer() throws { for v in ["init", "perturbed"] { try check(case: "tsmixer", variant: v) } }
    func testTSMixerWithAffineRevIN() throws { for v in ["init", "perturbed"] { try check(case: "tsmixer_affine", variant: v) } }
    func testTSMixerWithoutNorm() throws { for v in ["init", "perturbed"] { try check(case: "tsmixer_nonorm", variant: v) } }
}
