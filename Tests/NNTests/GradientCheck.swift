import XCTest
import NN

/// Central finite differences of L = Σ y ⊙ g (g fixed and random) against the analytic backward, for every
/// input element and every trainable parameter element.
///
/// Tolerance: in float32 a central difference with step h carries about ε|L|/h of rounding error plus
/// O(h²) truncation; with h = 1e-2 (1e-3 for the ReLU models) both stay well below the bound we require,
/// max |fd - analytic| ≤ 3e-3 (5e-3) · max(max |analytic|, 1) over each tensor. Where a ReLU kink lies
/// within ±h the central difference averages two slopes; such an element must match one of the one-sided
/// differences instead, and at most a quarter of a tensor's elements may take that route.
struct GradientCheck {
    var step: Float = 1e-2
    var tolerance: Float = 3e-3

    func run(_ what: String, input: [Float], store: ParameterStore?, outputCount: Int,
             forward: (UnsafePointer<Float>) -> UnsafePointer<Float>,
             backward: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
             file: StaticString = #filePath, line: UInt = #line) {
        var generator = Lcg(seed: 99)
        let g = (0..<outputCount).map { _ in generator.uniform() * 2 - 1 }
        let x = FloatBuffer(capacity: input.count)
        input.withUnsafeBufferPointer { x.pointer.update(from: $0.baseAddress!, count: input.count) }
        func loss() -> Double {
            let y = forward(x.pointer)
            var sum = 0.0
            for i in 0..<outputCount { sum += Double(y[i]) * Double(g[i]) }
            return sum
        }
        // Analytic gradients.
        store?.zeroGradients()
        var dx = [Float](repeating: 0, count: input.count)
        _ = forward(x.pointer)
        g.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { backward(gp.baseAddress!, $0.baseAddress!) } }
        let analyticParameters = store.map { s in s.layout.views.filter { s.needsGradient($0) }.map { ($0, s.gradientArray($0)) } } ?? []

        /// One element's finite differences: central, and the two one-sided ones.
        struct Difference { var central: Float; var forward: Float; var backward: Float }

        func compare(_ name: String, analytic: [Float], numeric: [Difference]) {
            let scale = max(analytic.map(abs).max() ?? 0, 1)
            let limit = tolerance * scale
            var worst: (index: Int, error: Float) = (0, 0)
            var kinks = 0
            for i in analytic.indices {
                var error = abs(analytic[i] - numeric[i].central)
                // A ReLU (or |.|) kink inside [x - h, x + h] makes the one-sided slopes disagree; the analytic
                // gradient is then the slope on the side where x lies, so it must match one of them.
                if error > limit && abs(numeric[i].forward - numeric[i].backward) > limit {
                    kinks += 1
                    error = min(abs(analytic[i] - numeric[i].forward), abs(analytic[i] - numeric[i].backward))
                }
                if error > worst.error { worst = (i, error) }
            }
            XCTAssertLessThanOrEqual(worst.error, limit,
                "\(what) d/d\(name)[\(worst.index)]: analytic \(analytic[worst.index]), finite difference \(numeric[worst.index].central)",
                file: file, line: line)
            XCTAssertLessThanOrEqual(kinks, max(1, analytic.count / 4),
                "\(what) d/d\(name): \(kinks) of \(analytic.count) elements sit on a kink; the check would be vacuous",
                file: file, line: line)
        }

        func differences(at pointer: (Int) -> UnsafeMutablePointer<Float>, count: Int) -> [Difference] {
            let base = loss()
            return (0..<count).map { i in
                let element = pointer(i)
                let keep = element.pointee
                element.pointee = keep + step; let plus = loss()
                element.pointee = keep - step; let minus = loss()
                element.pointee = keep
                let h = Double(step)
                return Difference(central: Float((plus - minus) / (2 * h)), forward: Float((plus - base) / h),
                                  backward: Float((base - minus) / h))
            }
        }

        compare("x", analytic: dx, numeric: differences(at: { x.pointer + $0 }, count: input.count))

        for (view, analytic) in analyticParameters {
            let p = store!.value(view)
            compare(view.name, analytic: analytic, numeric: differences(at: { p + $0 }, count: view.count))
        }
    }
}

/// Small deterministic generator for test data.
struct Lcg {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 6_364_136_223_846_793_005 &+ 1 }
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state >> 11
    }
    mutating func uniform() -> Float { Float(next() >> 29) / Float(1 << 24) }
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
    mutating func array(_ count: Int, scale: Float = 1) -> [Float] { (0..<count).map { _ in normal() * scale } }
}

import Foundation

/// Fills every trainable tensor with random values (and BatchNorm variances with positive ones).
func randomize(_ store: ParameterStore, seed: UInt64, scale: Float = 0.5) {
    var generator = Lcg(seed: seed)
    for view in store.layout.views {
        var values = generator.array(view.count, scale: scale)
        if view.name.hasSuffix("moving_variance") { values = values.map { 0.5 + abs($0) } }
        if view.name.hasSuffix("gamma") || view.name.hasSuffix("affine_weight") || view.name.hasSuffix("norm.weight") {
            values = values.map { 1 + $0 * 0.5 }
        }
        store.set(view, to: values)
    }
}
