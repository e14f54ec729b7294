@testable import Flow
import Foundation
import NN
import Optimizers
import XCTest

/// The whole MixerFlow on tiny images (6 x 6, patch 2, a shifted step): invertible, its log-determinant that of
/// a finite-difference Jacobian, its gradients those of finite differences.
final class MixerFlowTests: XCTestCase {
    private func model(channels: Int) -> (MixerFlow, ParameterStore) {
        var config = MixerFlowConfig(height: 6, width: 6, channels: channels)
        config.patch = 2
        config.steps = 2
        config.shiftEvery = 2
        config.channelHidden = 6
        config.patchHidden = 5
        let flow = MixerFlow(config)
        let store = ParameterStore(layout: flow.layout)
        randomize(store, seed: 41, scale: 0.3)
        flow.initialize(store, seed: 5)
        // Couplings start as the identity: give their last layers weights too, so the test sees them work.
        var generator = Lcg(seed: 43)
        for view in flow.layout.views where view.name.contains(".net.2.") {
            store.set(view, to: generator.array(view.count, scale: 0.2))
        }
        return (flow, store)
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
            let (flow, store) = model(channels: channels)
            let d = 36 * channels
            var generator = Lcg(seed: 47)
            let x = generator.array(2 * d)
            var z = [Float](repeating: 0, count: 2 * d), back = z, logdet: [Float] = [0, 0]
            flow.forward(x, &z, batch: 2, logdet: &logdet, store)
            flow.inverse(z, &back, batch: 2, store)
            XCTAssertLessThanOrEqual(zip(x, back).map { abs($0 - $1) }.max()!, 1e-4, "channels \(channels)")
            // The Jacobian of the first image, by central differences.
            var jacobian = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
            let first = Array(x[0..<d])
            let h: Float = 1e-2
            for j in 0..<d {
                var plus = first, minus = first, zp = [Float](repeating: 0, count: d), zm = zp, scratch: [Float] = [0]
                plus[j] += h; minus[j] -= h
                flow.forward(plus, &zp, batch: 1, logdet: &scratch, store)
                flow.forward(minus, &zm, batch: 1, logdet: &scratch, store)
                for i in 0..<d { jacobian[i][j] = (Double(zp[i]) - Double(zm[i])) / (2 * Double(h)) }
            }
            var single: [Float] = [0], zs = [Float](repeating: 0, count: d)
            flow.forward(first, &zs, batch: 1, logdet: &single, store)
            let expected = logAbsDeterminant(jacobian)
            XCTAssertEqual(Double(single[0]), expected, accuracy: 1e-3 * max(abs(expected), 1), "channels \(channels)")
            XCTAssertEqual(single[0], logdet[0], accuracy: 1e-4, "per-image log-determinants do not depend on the batch")
        }
    }

    func testGradientsOfOutputsAndLogDeterminant() {
        let (flow, store) = model(channels: 2)
        let d = 72, batch = 2
        var generator = Lcg(seed: 53)
        let out = FloatBuffer(capacity: batch * d + batch)
        GradientCheck().run("MixerFlow", input: generator.array(batch * d), store: store, outputCount: batch * d + batch, forward: { x in
            let y = out.pointer
            (y + batch * d).update(repeating: 0, count: batch)
            flow.forward(x, y, batch: batch, logdet: y + batch * d, store)
            return UnsafePointer(y)
        }, backward: { g, dx in
            flow.backward(dz: g, dLogdet: g + batch * d, dx: dx, batch: batch, store)
        })
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
            flow.forward(x, &z, batch: batch, logdet: &logdet, store, initializing: step == 0)
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
