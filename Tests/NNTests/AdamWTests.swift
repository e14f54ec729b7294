import Checkpoint
import Foundation
import NN
import Optimizers
import XCTest

final class AdamWTests: XCTestCase {
    /// One step on IBM's gradients reproduces torch.optim.AdamW's parameters (lr 1e-3, betas 0.9/0.999,
    /// eps 1e-8, weight decay 0.01) within 1e-6 for every tensor of every reference model.
    func testOneStepMatchesTorch() throws {
        for folder in ["small", "small_apl2", "small_mixchannel"] {
            let root = SharedFolder.url.appendingPathComponent("fixtures/granite-ttm/\(folder)")
            let model = try SafeTensors.read(contentsOf: root.appendingPathComponent("model/model.safetensors").path)
            let grads = try SafeTensors.read(contentsOf: root.appendingPathComponent("grads.safetensors").path)
            let after = try SafeTensors.read(contentsOf: root.appendingPathComponent("adamw_step1.safetensors").path)
            var layout = ParameterLayout()
            let views = model.tensors.map { layout.add($0.name, shape: $0.shape) }
            let store = ParameterStore(layout: layout)
            for view in views {
                store.set(view, to: try model.floats(view.name))
                try grads.copy(view.name, into: UnsafeMutableBufferPointer(start: store.gradient(view), count: view.count))
            }
            let optimizer = AdamW(parameterCount: store.count,
                                  hyperparameters: .init(learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01))
            optimizer.update(store)
            var worst: Float = 0
            for view in views {
                let expected = try after.floats(view.name)
                for (a, b) in zip(store.array(view), expected) { worst = max(worst, abs(a - b)) }
            }
            XCTAssertLessThanOrEqual(worst, 1e-6, "\(folder): largest difference \(worst)")
            XCTAssertGreaterThan(views.count, 10)
        }
    }

    func testFrozenAndNonTrainableRangesAreNotTouched() {
        var layout = ParameterLayout()
        let backbone = layout.add("backbone.w", shape: [3])
        let stats = layout.add("norm.moving_mean", shape: [2], trainable: false)
        let head = layout.add("head.w", shape: [2])
        let store = ParameterStore(layout: layout)
        for view in [backbone, stats, head] {
            store.set(view, to: [Float](repeating: 1, count: view.count))
            store.gradient(view).update(repeating: 0.5, count: view.count)
        }
        store.setFrozen(true, prefix: "backbone.")
        XCTAssertEqual(store.trainableRanges, [head.range])
        let optimizer = AdamW(parameterCount: store.count)
        optimizer.update(store)
        XCTAssertEqual(store.array(backbone), [1, 1, 1])
        XCTAssertEqual(store.array(stats), [1, 1])
        XCTAssertTrue(store.array(head).allSatisfy { $0 < 1 })
        XCTAssertEqual(optimizer.firstMoment[backbone.offset], 0)
    }

    /// The sixteen-lane loop gives exactly the scalar formula's bits, in the lanes and in the tails (ranges of
    /// lengths that are not multiples of 16), over several steps, on one thread and split over two or three
    /// (slices that cut through the tensors).
    func testLanesGiveTheScalarFormulasBits() {
        for threads in [1, 2, 3] {
            var layout = ParameterLayout()
            let views = [37, 16, 5, 160].enumerated().map { layout.add("w\($0.offset)", shape: [$0.element]) }
            let store = ParameterStore(layout: layout)
            var state: UInt32 = 12345
            func next() -> Float { state = state &* 1_664_525 &+ 1_013_904_223; return Float(Int32(bitPattern: state)) / 1e9 }
            for view in views { store.set(view, to: (0..<view.count).map { _ in next() }) }
            store.setFrozen(true, prefix: "w1")
            let h = AdamW.Hyperparameters(learningRate: 3e-3, weightDecay: 0.05)
            let optimizer = AdamW(parameterCount: store.count, hyperparameters: h)
            var p = (0..<store.count).map { store.values[$0] }
            var m = [Float](repeating: 0, count: store.count), v = m
            for step in 1...4 {
                for i in 0..<store.count { store.gradients[i] = next() }
                optimizer.update(store, threads: threads)
                let decay = 1 - h.learningRate * h.weightDecay
                let correction2Root = (1 - pow(h.beta2, Float(step))).squareRoot(), stepSize = h.learningRate / (1 - pow(h.beta1, Float(step)))
                for i in 0..<p.count where !views[1].range.contains(i) {
                    let g = store.gradients[i]
                    p[i] *= decay
                    m[i] += (g - m[i]) * (1 - h.beta1)
                    v[i] = v[i] * h.beta2 + (1 - h.beta2) * g * g
                    p[i] -= stepSize * (m[i] / (v[i].squareRoot() / correction2Root + h.epsilon))
                }
                XCTAssertEqual((0..<p.count).map { store.values[$0].bitPattern }, p.map(\.bitPattern), "\(threads) threads, step \(step)")
                XCTAssertEqual((0..<v.count).map { optimizer.secondMoment[$0].bitPattern }, v.map(\.bitPattern), "\(threads) threads, step \(step)")
            }
        }
    }
}
