import NN
@testable import TTM
import XCTest

final class TTMGradientTests: XCTestCase {
    private func smallConfig(decoderMode: TTMConfig.ChannelMode, levels: Int, decoderWidth: Int) -> TTMConfig {
        TTMConfig(contextLength: 12, predictionLength: 5, patchLength: 3, numInputChannels: 2, dModel: 8, expansionFactor: 2,
                  numLayers: 1, adaptivePatchingLevels: levels, decoderNumLayers: 1, decoderDModel: decoderWidth,
                  decoderMode: decoderMode, dropout: 0.2, headDropout: 0.1)
    }

    /// Finite differences over the past values and every parameter, in training mode with dropout on (the
    /// masks are fixed by the seed), for the plain model, adaptive patching with an adapter, and mix_channel.
    /// Central differences with h = 1e-2 in float32; GELU and softmax are smooth, so no kink fallback is
    /// needed: max |fd - analytic| ≤ 3e-3 · max(max|analytic|, 1) per tensor.
    func testFiniteDifferences() throws {
        for config in [smallConfig(decoderMode: .commonChannel, levels: 0, decoderWidth: 8),
                       smallConfig(decoderMode: .commonChannel, levels: 2, decoderWidth: 6),
                       smallConfig(decoderMode: .mixChannel, levels: 0, decoderWidth: 4)] {
            let model = try TTMModel(config: config)
            let store = ParameterStore(layout: model.layout)
            model.initialize(store, seed: 5)
            let batch = 3, inCount = batch * 12 * 2, outCount = batch * 5 * 2
            var g = Lcg(seed: 8)
            var past = (0..<inCount).map { _ in g.normal() * 2 + 1 }
            let weights = (0..<outCount).map { _ in g.normal() }
            let mode = ForwardMode.training(.init(seed: 4, step: 1, firstSample: 0))
            func loss() -> Double {
                past.withUnsafeBufferPointer { x in
                    let y = model.forward(x.baseAddress!, batch: batch, mode: mode, store)
                    return (0..<outCount).reduce(0.0) { $0 + Double(y[$1]) * Double(weights[$1]) }
                }
            }
            store.zeroGradients()
            _ = loss()
            var dPast = [Float](repeating: 0, count: inCount)
            weights.withUnsafeBufferPointer { w in dPast.withUnsafeMutableBufferPointer { model.backward(w.baseAddress!, dPast: $0.baseAddress!, store) } }
            let h: Float = 1e-2
            func check(_ name: String, analytic: [Float], perturb: (Int, Float) -> Void) {
                var numeric = [Float](repeating: 0, count: analytic.count)
                for i in analytic.indices {
                    perturb(i, h); let plus = loss()
                    perturb(i, -2 * h); let minus = loss()
                    perturb(i, h)
                    numeric[i] = Float((plus - minus) / Double(2 * h))
                }
                let scale = max(analytic.map(abs).max()!, 1)
                let worst = zip(analytic, numeric).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(worst, 3e-3 * scale, "\(config.decoderMode) levels \(config.adaptivePatchingLevels): d/d\(name)")
            }
            check("past", analytic: dPast) { i, delta in past[i] += delta }
            for view in store.layout.views {
                let p = store.value(view)
                check(view.name, analytic: store.gradientArray(view)) { i, delta in p[i] += delta }
            }
        }
    }

    /// Fine-tuning: with the backbone frozen, backward never reaches it (a sentinel left in its gradients
    /// survives), the decoder (adapter included) and head still get theirs, and an optimizer step leaves every
    /// backbone weight bit-identical.
    func testFrozenBackboneGetsNoBackwardAndNoUpdate() throws {
        let model = try TTMModel(config: smallConfig(decoderMode: .commonChannel, levels: 2, decoderWidth: 6))
        let store = ParameterStore(layout: model.layout)
        model.initialize(store, seed: 1)
        model.backboneFrozen = true
        store.setFrozen(true, prefix: "backbone.")
        let backboneBefore = Array(UnsafeBufferPointer(start: store.values, count: model.backboneParameterCount))
        let sentinel: Float = 12345
        store.zeroGradients()
        store.gradients.update(repeating: sentinel, count: model.backboneParameterCount)
        var g = Lcg(seed: 2)
        let past = (0..<(3 * 12 * 2)).map { _ in g.normal() }
        let dy = (0..<(3 * 5 * 2)).map { _ in g.normal() }
        past.withUnsafeBufferPointer { x in _ = model.forward(x.baseAddress!, batch: 3, mode: .training(.init(seed: 1, step: 0, firstSample: 0)), store) }
        dy.withUnsafeBufferPointer { model.backward($0.baseAddress!, dPast: nil, store) }
        XCTAssertTrue(UnsafeBufferPointer(start: store.gradients, count: model.backboneParameterCount).allSatisfy { $0 == sentinel },
                      "backward wrote into the backbone's gradients")
        for name in ["decoder.adapter.weight", "head.base_forecast_block.weight", "decoder.decoder_block.mixers.0.feature_mixer.mlp.fc1.weight"] {
            let view = try XCTUnwrap(store.layout[name])
            XCTAssertTrue(store.gradientArray(view).contains { $0 != 0 }, "\(name) got no gradient")
        }
        XCTAssertEqual(store.trainableRanges.first?.lowerBound, model.backboneParameterCount)
        let optimizer = Optimizers.AdamW(parameterCount: store.count)
        optimizer.update(store)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: store.values, count: model.backboneParameterCount)), backboneBefore)
    }
    /// A mixer layer's backward writes dh (no zeroing; the norm's pass adds the residual's gradient): every
    /// element, whatever dh held before (NaNs or other values give the same bits), through channel, patch and
    /// feature mixers, with the same parameter gradients. That the written values have the bits of adding into
    /// a zeroed dh is LayerNorm's plain-loop test (its residual and adding modes against one loop).
    func testMixerLayerBackwardWritesEveryElement() {
        let config = smallConfig(decoderMode: .mixChannel, levels: 0, decoderWidth: 8)
        var layout = ParameterLayout()
        let layer = TTMMixerLayer("layer", patches: 4, width: 6, channels: 2, mixChannels: true, config: config, dropout: 0.2,
                                  scratch: BlockScratch(), layout: &layout)
        let batch = 3, count = batch * 2 * 4 * 6
        var g = Lcg(seed: 61)
        let h = (0..<count).map { _ in g.normal() }, dOut = (0..<count).map { _ in g.normal() }
        var results: [[Float]] = [], gradients: [[Float]] = []
        for before in [[Float](repeating: .nan, count: count), (0..<count).map { _ in g.normal() }] {
            let store = ParameterStore(layout: layout)
            layer.initialize(store, seed: 62)
            var dh = before
            h.withUnsafeBufferPointer { x in
                _ = layer.forward(x.baseAddress!, batch: batch, channels: 2, mode: .training(.init(seed: 63, step: 2, firstSample: 0)), store)
                dOut.withUnsafeBufferPointer { dy in dh.withUnsafeMutableBufferPointer { layer.backward(dy.baseAddress!, dh: $0.baseAddress!, store) } }
            }
            results.append(dh)
            gradients.append(Array(UnsafeBufferPointer(start: store.gradients, count: store.count)))
        }
        XCTAssertFalse(results[0].contains { $0.isNaN })
        XCTAssertEqual(results[0].map(\.bitPattern), results[1].map(\.bitPattern))
        XCTAssertEqual(gradients[0].map(\.bitPattern), gradients[1].map(\.bitPattern))
    }
}

import Optimizers
