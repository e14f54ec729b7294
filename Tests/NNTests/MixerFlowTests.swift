@testable import Flow
import Foundation
import NN
import Optimizers
import XCTest

/// Random parameters for a flow's tests: everything random (ActNorms included), then the flow's own start
/// (couplings as the identity) and weights in the couplings' last layers again, so that the tests see them work.
func randomStore(for flow: FlowNetwork, seed: UInt64) -> ParameterStore {
    let store = ParameterStore(layout: flow.layout)
    randomize(store, seed: seed, scale: 0.3)
    flow.initialize(store, seed: seed &+ 1)
    var generator = Lcg(seed: seed &+ 2)
    for view in store.layout.views where view.name.contains(".net.2.") {
        store.set(view, to: generator.array(view.count, scale: 0.2))
    }
    return store
}

/// A whole flow: inverse(forward(x)) = x within 1e-4 on a batch of 2; the first image's log-determinant equals
/// log|det| of its central-difference Jacobian (1e-3 relative) and does not depend on the batch.
func assertFlowInvertsWithItsJacobiansLogDeterminant(_ name: String, _ flow: FlowNetwork, _ store: ParameterStore, seed: UInt64,
                                                     file: StaticString = #filePath, line: UInt = #line) {
    let d = flow.dimensions
    func forward(_ x: [Float], batch: Int) -> (z: [Float], logdet: [Float]) {
        var z = [Float](repeating: 0, count: batch * d), logdet = [Float](repeating: 0, count: batch)
        flow.forward(x, &z, batch: batch, logdet: &logdet, store, initializing: nil)
        return (z, logdet)
    }
    var generator = Lcg(seed: seed)
    let x = generator.array(2 * d)
    let (z, logdet) = forward(x, batch: 2)
    var back = [Float](repeating: 0, count: 2 * d)
    flow.inverse(z, &back, batch: 2, store)
    XCTAssertLessThanOrEqual(zip(x, back).map { abs($0 - $1) }.max()!, 1e-4, name, file: file, line: line)
    var jacobian = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
    let first = Array(x[0..<d])
    for j in 0..<d {
        var plus = first, minus = first
        plus[j] += 1e-2; minus[j] -= 1e-2
        let zp = forward(plus, batch: 1).z, zm = forward(minus, batch: 1).z
        for i in 0..<d { jacobian[i][j] = (Double(zp[i]) - Double(zm[i])) / 2e-2 }
    }
    let single = forward(first, batch: 1).logdet[0], expected = logAbsDeterminant(jacobian)
    XCTAssertEqual(Double(single), expected, accuracy: 1e-3 * max(abs(expected), 1), name, file: file, line: line)
    XCTAssertEqual(single, logdet[0], accuracy: 1e-4, "\(name): per-image log-determinants do not depend on the batch", file: file, line: line)
}

/// Finite differences of outputs and log-determinants of a whole flow on a batch of 2 against its backward.
func assertFlowGradients(_ name: String, _ flow: FlowNetwork, _ store: ParameterStore, seed: UInt64, check: GradientCheck = GradientCheck()) {
    let batch = 2, d = flow.dimensions
    var generator = Lcg(seed: seed)
    let out = FloatBuffer(capacity: batch * d + batch)
    check.run(name, input: generator.array(batch * d), store: store, outputCount: batch * d + batch, forward: { x in
        (out.pointer + batch * d).update(repeating: 0, count: batch)
        flow.forward(x, out.pointer, batch: batch, logdet: out.pointer + batch * d, store, initializing: nil)
        return UnsafePointer(out.pointer)
    }, backward: { g, dx in flow.backward(dz: g, dLogdet: g + batch * d, dx: dx, batch: batch, store) })
}

/// The whole MixerFlow on tiny images (6 x 6, patch 2, a shifted step): invertible, its log-determinant that of
/// a finite-difference Jacobian, its gradients those of finite differences.
final class MixerFlowTests: XCTestCase {
    private func model(channels: Int) -> MixerFlow {
        var config = MixerFlowConfig(height: 6, width: 6, channels: channels)
        config.patch = 2
        config.steps = 2
        config.shiftEvery = 2
        config.channelHidden = 6
        config.patchHidden = 5
        return MixerFlow(config)
    }

    func testTheMixerMatrixPartitionsTheImage() {
        let plain = MixerMatrix.plain(height: 6, width: 6, channels: 2, patch: 2), shifted = MixerMatrix.shifted(height: 6, width: 6, channels: 2, patch: 2)
        XCTAssertEqual([plain.patches, plain.patchSize, shifted.patches], [9, 8, 4])
        let image = (0..<72).map(Float.init)
        var matrix = [Float](repeating: -1, count: 72)
        plain.gather(image, into: &matrix, batch: 1)
        XCTAssertEqual(Set(matrix), Set(image), "the plain partition is a permutation")
        XCTAssertEqual(Array(matrix[8..<16]), [4, 5, 6, 7, 16, 17, 18, 19], "patch 1: rows 0-1, columns 2-3, channels last")
        var inner = [Float](repeating: -1, count: 32)
        shifted.gather(image, into: &inner, batch: 1)
        XCTAssertEqual(Array(inner[0..<8]), [14, 15, 16, 17, 26, 27, 28, 29], "shifted patch 0 starts at pixel (1, 1)")
        var back = [Float](repeating: -1, count: 72)
        shifted.scatter(inner, into: &back, batch: 1)
        XCTAssertEqual(back.filter { $0 >= 0 }.count, 32, "the frame is left alone")
    }

    func testInvertsAndItsLogDeterminantIsTheJacobians() {
        for channels in [1, 2] {
            let flow = model(channels: channels)
            assertFlowInvertsWithItsJacobiansLogDeterminant("MixerFlow, \(channels) channels", flow, randomStore(for: flow, seed: 41), seed: 47)
        }
    }

    func testGradientsOfOutputsAndLogDeterminant() {
        let flow = model(channels: 2)
        assertFlowGradients("MixerFlow", flow, randomStore(for: flow, seed: 41), seed: 53)
    }
}

/// Dequantisation, the bits-per-dimension objective, and a MixerFlow learning a small image set with AdamW.
final class FlowObjectiveTests: XCTestCase {
    func testDequantisedPixelsComeBackAndTheLogitLogDeterminantIsItsDerivative() {
        let pixels: [UInt8] = [0, 1, 17, 128, 254, 255]
        var x = [Float](repeating: 0, count: 6), logdet: Float = 0
        Dequantization.continuous(pixels, count: 6, image: 3, noise: RandomStream(seed: 9), into: &x, logdet: &logdet)
        var back = [UInt8](repeating: 0, count: 6)
        Dequantization.pixels(x, count: 6, into: &back)
        XCTAssertEqual(back, pixels)
        // d x / d v for each element: the logit transform's Jacobian is diagonal.
        let noise = FloatBuffer(capacity: 6)
        RandomStream(seed: 9).fillUniform(sample: 3, count: 6, into: noise.pointer)
        var expected = 0.0
        for i in 0..<6 {
            let v = (Double(pixels[i]) + Double(noise.pointer[i])) / 256, h = 1e-6, a = Double(Dequantization.alpha)
            func f(_ v: Double) -> Double { let s = a + (1 - 2 * a) * v; return log(s / (1 - s)) }
            expected += log((f(v + h) - f(v - h)) / (2 * h))
        }
        XCTAssertEqual(Double(logdet), expected, accuracy: 1e-4)
    }

    func testBitsPerDimensionAndItsGradient() {
        let z: [Float] = [0.5, -1, 2, 0, 0.25, 1], logdet: [Float] = [1.5, -0.5]
        var dz = [Float](repeating: 0, count: 6), dLogdet: [Float] = [0, 0]
        let total = Dequantization.bitsPerDimension(z: z, logdet: logdet, batch: 2, dimensions: 3, scale: 0.5, dz: &dz, dLogdet: &dLogdet)
        var expected = 0.0
        for n in 0..<2 {
            let squares = (0..<3).reduce(0.0) { $0 + Double(z[n * 3 + $1] * z[n * 3 + $1]) }
            expected += (0.5 * squares + 1.5 * log(2 * .pi) - Double(logdet[n])) / (3 * log(2.0)) + 8
        }
        XCTAssertEqual(total, expected, accuracy: 1e-9)
        XCTAssertEqual(dz[2], 0.5 * 2 / Float(3 * log(2.0)), accuracy: 1e-7)
        XCTAssertEqual(dLogdet[1], -0.5 / Float(3 * log(2.0)), accuracy: 1e-7)
    }

    /// Sixteen 6 x 6 images of four stripe patterns: 150 AdamW steps of a small MixerFlow (ActNorms started from
    /// the first batch) bring the training bits per dimension down by more than 2 bits from the start.
    func testAMixerFlowLearnsAFewImages() {
        var config = MixerFlowConfig(height: 6, width: 6, channels: 1)
        config.patch = 2
        config.steps = 4
        config.shiftEvery = 2
        config.channelHidden = 16
        config.patchHidden = 16
        let flow = MixerFlow(config)
        let store = ParameterStore(layout: flow.layout)
        flow.initialize(store, seed: 3)
        let batch = 16, d = 36
        let images: [UInt8] = (0..<batch).flatMap { n in (0..<d).map { i -> UInt8 in
            let (row, column) = (i / 6, i % 6)
            let on = n % 4 == 0 ? row % 2 == 0 : n % 4 == 1 ? column % 2 == 0 : n % 4 == 2 ? row < 3 : column < 3
            return on ? 220 : 30
        } }
        let optimizer = AdamW(parameterCount: store.count, hyperparameters: .init(learningRate: 3e-3, weightDecay: 0))
        var x = [Float](repeating: 0, count: batch * d), z = x, dz = x, dx = x
        var curve: [Double] = []
        for step in 0..<150 {
            var logdet = [Float](repeating: 0, count: batch)
            for n in 0..<batch {
                images.withUnsafeBufferPointer { p in x.withUnsafeMutableBufferPointer { q in
                    Dequantization.continuous(p.baseAddress! + n * d, count: d, image: n, noise: RandomStream(seed: 1, step: UInt32(step)),
                                              into: q.baseAddress! + n * d, logdet: &logdet[n])
                } }
            }
            flow.forward(x, &z, batch: batch, logdet: &logdet, store, initializing: step == 0 ? ActNormStart() : nil)
            var dLogdet = [Float](repeating: 0, count: batch)
            curve.append(Dequantization.bitsPerDimension(z: z, logdet: logdet, batch: batch, dimensions: d, scale: 1 / Float(batch),
                                                         dz: &dz, dLogdet: &dLogdet) / Double(batch))
            store.zeroGradients()
            flow.backward(dz: dz, dLogdet: dLogdet, dx: &dx, batch: batch, store)
            optimizer.update(store)
        }
        print(String(format: "MixerFlow on 16 images: %.3f bits/dim at step 1, %.3f at step 150", curve[0], curve.last!))
        XCTAssertTrue(curve.allSatisfy(\.isFinite))
        XCTAssertLessThan(curve.suffix(10).reduce(0, +) / 10, curve[0] - 2, "bits per dimension: \(curve[0]) at the start, \(curve.suffix(5)) at the end")
    }
}

/// The Glow baseline on tiny images (4 x 4, two levels, a split): invertible, its log-determinant that of a
/// finite-difference Jacobian, its gradients those of finite differences.
final class GlowTests: XCTestCase {
    private func model(channels: Int) -> Glow {
        var config = GlowConfig(height: 4, width: 4, channels: channels)
        config.levels = 2
        config.stepsPerLevel = 2
        config.hidden = 4
        return Glow(config)
    }

    func testSqueezeIsAPermutation() {
        let squeeze = MixerMatrix.plain(height: 4, width: 2, channels: 2, patch: 2)  // Glow's squeeze
        let x = (0..<16).map(Float.init)
        var y = [Float](repeating: -1, count: 16), back = y
        squeeze.gather(x, into: &y, batch: 1)
        XCTAssertEqual(Array(y[0..<8]), [0, 1, 2, 3, 4, 5, 6, 7], "pixels (0,0), (0,1), (1,0), (1,1) into one")
        squeeze.scatter(y, into: &back, batch: 1)
        XCTAssertEqual(back, x)
    }

    func testInvertsAndItsLogDeterminantIsTheJacobians() {
        for channels in [1, 2] {
            let glow = model(channels: channels)
            assertFlowInvertsWithItsJacobiansLogDeterminant("Glow, \(channels) channels", glow, randomStore(for: glow, seed: 83), seed: 97)
        }
    }

    func testGradientsOfOutputsAndLogDeterminant() {
        let glow = model(channels: 1)
        assertFlowGradients("Glow", glow, randomStore(for: glow, seed: 83), seed: 101, check: GradientCheck(step: 1e-3, tolerance: 5e-3))
    }
}
