@testable import Flow
import Foundation
import NN
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
