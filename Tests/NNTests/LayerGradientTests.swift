import XCTest
@testable import NN
@testable import TSMixer

/// A finite-difference check for every layer, on shapes whose dimensions all differ.
final class LayerGradientTests: XCTestCase {
    let check = GradientCheck()

    func testLinear() {
        var layout = ParameterLayout()
        let layer = Linear("fc", in: 4, out: 3, layout: &layout)
        let store = ParameterStore(layout: layout)
        randomize(store, seed: 1)
        var g = Lcg(seed: 2)
        let rows = 5
        let y = FloatBuffer(capacity: rows * 3)
        var savedX: UnsafePointer<Float>!
        check.run("Linear", input: g.array(rows * 4), store: store, outputCount: rows * 3,
                  forward: { x in savedX = x; layer.forward(x, y.pointer, rows: rows, store); return UnsafePointer(y.pointer) },
                  backward: { dy, dx in layer.backward(dy: dy, x: savedX, dx: dx, rows: rows, store) })
    }

    /// 3 rows go one by one; 11 rows of 12 features go through the forward eight at a time (one per lane), then
    /// three by themselves (the backward takes eight at a time only up to 7 features: the swapped-rows test).
    func testLayerNorm() {
        for (width, rows) in [(6, 3), (12, 11)] {
            var layout = ParameterLayout()
            let layer = LayerNorm("ln", features: width, layout: &layout)
            let store = ParameterStore(layout: layout)
            randomize(store, seed: 3)
            var g = Lcg(seed: 4)
            let count = rows * width
            let y = FloatBuffer(capacity: count), mean = FloatBuffer(capacity: rows), inv = FloatBuffer(capacity: rows), scratch = FloatBuffer()
            var savedX: UnsafePointer<Float>!
            check.run("LayerNorm\(width)x\(rows)", input: g.array(count), store: store, outputCount: count,
                      forward: { x in
                          savedX = x
                          layer.forward(x, y.pointer, rows: rows, mean: mean.pointer, inverseStd: inv.pointer, store)
                          return UnsafePointer(y.pointer)
                      },
                      backward: { dy, dx in
                          layer.backward(dy: dy, dx: dx, rows: rows, x: savedX, mean: mean.pointer, inverseStd: inv.pointer, scratch: scratch, store)
                      })
        }
    }

    func testBatchNormTrainingInferenceAndFrozen() {
        for (mode, frozen) in [(true, false), (false, false), (true, true)] {
            var layout = ParameterLayout()
            var layer = BatchNorm("bn", features: 4, layout: &layout)
            layer.frozen = frozen
            let store = ParameterStore(layout: layout)
            randomize(store, seed: 5)
            var g = Lcg(seed: 6)
            let rows = 5
            let y = FloatBuffer(capacity: 20), saved = BatchNorm.Saved(), scratch = FloatBuffer()
            check.run("BatchNorm training=\(mode) frozen=\(frozen)", input: g.array(20), store: store, outputCount: 20,
                      forward: { x in layer.forward(x, y.pointer, rows: rows, mode: mode ? .training(.init(seed: 1, step: 0, firstSample: 0)) : .inference, saved: saved, store); return UnsafePointer(y.pointer) },
                      backward: { dy, dx in layer.backward(dy: dy, dx: dx, rows: rows, saved: saved, scratch: scratch, store) })
        }
    }

    func testActivations() {
        var g = Lcg(seed: 7)
        // Inputs kept away from ReLU's kink at 0 so that x ± h stays on one side.
        let input = g.array(23).map { $0 + ($0 >= 0 ? 0.1 : -0.1) }
        for activation in [Activation.relu, .gelu] {
            let y = FloatBuffer(capacity: 23)
            var savedX: UnsafePointer<Float>!
            check.run("\(activation)", input: input, store: nil, outputCount: 23,
                      forward: { x in savedX = x; activation.forward(x, y.pointer, count: 23); return UnsafePointer(y.pointer) },
                      backward: { dy, dx in activation.backward(dy: dy, x: savedX, dx: dx, count: 23) })
        }
    }

    func testDropoutWithAFixedMask() {
        let dropout = Dropout(rate: 0.4, site: 3)
        let y = FloatBuffer(capacity: 30), mask = DropoutMask(), scratch = FloatBuffer()
        let context = Dropout.Context(seed: 11, step: 2, firstSample: 5)
        var g = Lcg(seed: 8)
        check.run("Dropout", input: g.array(30), store: nil, outputCount: 30,
                  forward: { x in dropout.forward(x, y.pointer, mask: mask, samples: 3, perSample: 10, context: context); return UnsafePointer(y.pointer) },
                  backward: { dy, dx in dx.update(from: mask.applied(to: dy, using: scratch, count: 30), count: 30) })
    }

    /// Width 5 is all tail in the gate's forward, 16 all eight-lane chunks; 5 and 12 over 9 rows also take the
    /// narrow rows' eight-rows-at-a-time path (and one row by itself): forward and backward for 5, forward for 12.
    func testSoftmaxGate() {
        for (width, rows, seed) in [(5, 3, UInt64(9)), (16, 3, 19), (5, 9, 29), (12, 9, 39)] {
            var layout = ParameterLayout()
            let gate = SoftmaxGate("gate", features: width, layout: &layout)
            let store = ParameterStore(layout: layout)
            randomize(store, seed: seed)
            var g = Lcg(seed: seed + 1)
            let count = rows * width
            let y = FloatBuffer(capacity: count), s = FloatBuffer(capacity: count), scratch = FloatBuffer()
            var savedX: UnsafePointer<Float>!
            check.run("SoftmaxGate\(width)x\(rows)", input: g.array(count), store: store, outputCount: count,
                      forward: { x in savedX = x; gate.forward(x, y.pointer, rows: rows, weights: s.pointer, store); return UnsafePointer(y.pointer) },
                      backward: { dy, dx in gate.backward(dy: dy, x: savedX, weights: s.pointer, dx: dx, rows: rows, scratch: scratch, store) })
        }
    }

    func testMLPWithDropout() {
        var layout = ParameterLayout()
        let mlp = MLP("mlp", in: 4, hidden: 7, out: 3, activation: .gelu, dropout: 0.3, layout: &layout)
        let store = ParameterStore(layout: layout)
        randomize(store, seed: 12)
        var g = Lcg(seed: 13)
        let rows = 6
        let y = FloatBuffer(capacity: 18)
        var savedX: UnsafePointer<Float>!
        let mode = ForwardMode.training(.init(seed: 5, step: 1, firstSample: 0))
        check.run("MLP", input: g.array(24), store: store, outputCount: 18,
                  forward: { x in savedX = x; mlp.forward(x, y.pointer, positions: rows, samples: 2, mode: mode, store); return UnsafePointer(y.pointer) },
                  backward: { dy, dx in mlp.backward(dy: dy, x: savedX, dx: dx, positions: rows, store) })
    }

    func testRevINNormalizeWithAndWithoutAffine() {
        for affine in [false, true] {
            var layout = ParameterLayout()
            let revin = RevIN("rev", channels: 3, affine: affine, layout: &layout)
            let store = ParameterStore(layout: layout)
            randomize(store, seed: 14)
            var g = Lcg(seed: 15)
            let y = FloatBuffer(capacity: 42), scratch = FloatBuffer()
            check.run("RevIN normalize affine=\(affine)", input: g.array(42, scale: 2), store: store, outputCount: 42,
                      forward: { x in revin.normalize(x, y.pointer, batch: 2, time: 7, store); return UnsafePointer(y.pointer) },
                      backward: { dy, dx in revin.normalizeBackward(dy: dy, dx: dx, includeDenormalize: false, scratch: scratch, store) })
        }
    }

    /// normalize, a fixed linear map over time to a different horizon, then denormalize: the paths through
    /// μ and σ on the way back.
    func testRevINRoundTripThroughAHorizonMap() {
        for affine in [false, true] {
            var layout = ParameterLayout()
            let revin = RevIN("rev", channels: 3, affine: affine, layout: &layout)
            let map = Linear("map", in: 7, out: 4, layout: &layout)
            let store = ParameterStore(layout: layout)
            randomize(store, seed: 16)
            var g = Lcg(seed: 17)
            let normalized = FloatBuffer(capacity: 42), transposed = FloatBuffer(capacity: 42)
            let mapped = FloatBuffer(capacity: 24), out = FloatBuffer(capacity: 24)
            let scratch = FloatBuffer(), d1 = FloatBuffer(capacity: 24), d2 = FloatBuffer(capacity: 24)
            let d3 = FloatBuffer(capacity: 42), d4 = FloatBuffer(capacity: 42)
            check.run("RevIN round trip affine=\(affine)", input: g.array(42, scale: 2), store: store, outputCount: 24,
                      forward: { x in
                          revin.normalize(x, normalized.pointer, batch: 2, time: 7, store)
                          Permute.swapLastTwo(normalized.pointer, transposed.pointer, batch: 2, rows: 7, cols: 3)
                          map.forward(transposed.pointer, mapped.pointer, rows: 6, store)
                          Permute.swapLastTwo(mapped.pointer, out.pointer, batch: 2, rows: 3, cols: 4)
                          revin.denormalize(out.pointer, out.pointer, horizon: 4, store)
                          return UnsafePointer(out.pointer)
                      },
                      backward: { dy, dx in
                          d1.zero(24); d2.zero(24); d3.zero(42); d4.zero(42)
                          revin.denormalizeBackward(dOut: dy, dy: d1.pointer, store)
                          Permute.swapLastTwoAdding(d1.pointer, into: d2.pointer, batch: 2, rows: 3, cols: 4)
                          map.backward(dy: d2.pointer, x: transposed.pointer, dx: d3.pointer, rows: 6, store)
                          Permute.swapLastTwoAdding(d3.pointer, into: d4.pointer, batch: 2, rows: 7, cols: 3)
                          revin.normalizeBackward(dy: d4.pointer, dx: dx, includeDenormalize: true, scratch: scratch, store)
                      })
        }
    }

    func testPermute() {
        var g = Lcg(seed: 18)
        let y = FloatBuffer(capacity: 24)
        check.run("Permute", input: g.array(24), store: nil, outputCount: 24,
                  forward: { x in Permute.swapLastTwo(x, y.pointer, batch: 2, rows: 3, cols: 4); return UnsafePointer(y.pointer) },
                  backward: { dy, dx in Permute.swapLastTwoAdding(dy, into: dx, batch: 2, rows: 3, cols: 4) })
    }

    func testLosses() {
        var g = Lcg(seed: 19)
        let target = g.array(11)
        // Prediction kept away from the target so MAE's kink at y = t is not crossed.
        let input = zip(g.array(11), target).map { p, t in t + p + (p >= 0 ? 0.1 : -0.1) }
        for loss in [Loss.mse, .mae] {
            let out = FloatBuffer(capacity: 1)
            var savedY: UnsafePointer<Float>!
            check.run("\(loss)", input: input, store: nil, outputCount: 1,
                      forward: { y in
                          savedY = y
                          out.pointer[0] = target.withUnsafeBufferPointer { Float(loss.value(prediction: y, target: $0.baseAddress!, count: 11)) }
                          return UnsafePointer(out.pointer)
                      },
                      backward: { dOut, dy in
                          target.withUnsafeBufferPointer { loss.gradient(prediction: savedY, target: $0.baseAddress!, into: dy, count: 11, scale: dOut[0]) }
                      })
        }
    }

    // MARK: the KerasFactory layers and model, in training mode with dropout on

    private func checkSequenceLayer(_ what: String, _ layer: SequenceLayer, layout: ParameterLayout, batch: Int, seed: UInt64) {
        let store = ParameterStore(layout: layout)
        randomize(store, seed: seed)
        var g = Lcg(seed: seed + 1)
        let mode = ForwardMode.training(.init(seed: 77, step: 3, firstSample: 0))
        // ReLU kinks: a smaller step keeps x ± h on one side of 0 for (nearly) every unit.
        GradientCheck(step: 1e-3, tolerance: 5e-3).run(what, input: g.array(batch * layer.inputLength * layer.channels, scale: 1.5), store: store,
                  outputCount: batch * layer.outputLength * layer.channels,
                  forward: { x in layer.forward(x, batch: batch, mode: mode, store) },
                  backward: { dy, dx in layer.backward(dy, dx: dx, store) })
    }

    func testTemporalMixing() {
        var layout = ParameterLayout()
        let layer = TemporalMixing("t", config: .init(nSeries: 3, inputSize: 5, dropout: 0.2), layout: &layout)
        checkSequenceLayer("TemporalMixing", layer, layout: layout, batch: 4, seed: 20)
    }

    func testFeatureMixing() {
        var layout = ParameterLayout()
        let layer = FeatureMixing("f", config: .init(nSeries: 3, inputSize: 5, dropout: 0.2, ffDim: 6), layout: &layout)
        checkSequenceLayer("FeatureMixing", layer, layout: layout, batch: 4, seed: 22)
    }

    func testMixingLayer() {
        var layout = ParameterLayout()
        let layer = MixingLayer("m", config: .init(nSeries: 2, inputSize: 6, dropout: 0.1, ffDim: 3), layout: &layout)
        checkSequenceLayer("MixingLayer", layer, layout: layout, batch: 3, seed: 24)
    }

    func testTSMixerModel() throws {
        for (useNorm, affine) in [(true, true), (true, false), (false, false)] {
            let model = try TSMixer(config: .init(seqLen: 6, predLen: 4, nFeatures: 3, nBlocks: 2, ffDim: 5,
                                                  dropout: 0.1, useNorm: useNorm, normAffine: affine))
            checkSequenceLayer("TSMixer norm=\(useNorm) affine=\(affine)", model, layout: model.layout, batch: 4, seed: 26)
        }
    }
}
