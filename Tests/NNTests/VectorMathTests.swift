import Kernels
import Foundation
@testable import NN
import XCTest

/// The vector erf and exp against the exact functions (computed in Double) over their whole useful range.
final class VectorMathTests: XCTestCase {
    private func compare(_ f: (Float) -> Float, _ reference: (Double) -> Double, over xs: [Float]) -> (absolute: Double, relative: Double) {
        var worst = (absolute: 0.0, relative: 0.0)
        for x in xs {
            let exact = reference(Double(x)), error = abs(Double(f(x)) - exact)
            worst.absolute = max(worst.absolute, error)
            if exact != 0 { worst.relative = max(worst.relative, error / abs(exact)) }
        }
        return worst
    }

    func testErfIsWithinFloatPrecision() {
        var xs: [Float] = (0..<400_000).map { (i: Int) -> Float in Float(-10.0 + 20.0 * Double(i) / 400_000.0) }
        xs += [0, -0.0, 1e-30, -1e-30, .infinity, -.infinity, 3.92, -3.92]
        let worst = compare(VectorMath.erf, Foundation.erf, over: xs)
        XCTAssertLessThanOrEqual(worst.absolute, 4e-7)
        // Near 0 erf is x·2/√π: the relative error stays small where the value is tiny.
        let small: [Float] = (1..<10_000).map { (i: Int) -> Float in Float(i) * 1e-4 }
        XCTAssertLessThanOrEqual(compare(VectorMath.erf, Foundation.erf, over: Array(small.prefix(9_992))).relative, 4e-7)
    }

    func testExpIsWithinTwoUlp() {
        let xs: [Float] = (0..<400_000).map { (i: Int) -> Float in Float(-87.0 + 175.0 * Double(i) / 400_000.0) }
        XCTAssertLessThanOrEqual(compare(VectorMath.exp, Foundation.exp, over: xs).relative, 2.5e-7)
        let edges = [-1000, -87.3, 0, 1e-8, -1e-8, 88.3, 1000, .infinity].map(VectorMath.exp)
        XCTAssertEqual(edges[2], 1)
        XCTAssertTrue(edges[0] >= 0 && edges[0] < 1e-37 && edges[6].isFinite && edges[6] > 1e38 && edges[7] == edges[6])
    }

    func testEightLaneExpHasTheScalarBits() {
        var xs: [Float] = (0..<80_000).map { (i: Int) -> Float in Float(-100.0 + 200.0 * Double(i) / 80_000.0) }
        xs += [-1000, -87.3, 0, -0.0, 1e-8, -1e-8, 88.3, 1000, .infinity, -.infinity]
        while xs.count % 8 != 0 { xs.append(0.5) }
        for start in stride(from: 0, to: xs.count, by: 8) {
            let lanes = VectorMath.exp(SIMD8<Float>(xs[start..<(start + 8)]))
            for i in 0..<8 { XCTAssertEqual(lanes[i].bitPattern, VectorMath.exp(xs[start + i]).bitPattern, "exp(\(xs[start + i]))") }
        }
    }

    /// The gate's forward (eight-lane chunks and a tail; rows narrower than 16 eight at a time, one per lane, and
    /// the leftover rows one by one) gives the bits of a plain loop over Reduce and exp, and with a residual those
    /// of the residual added afterwards.
    func testSoftmaxGateMatchesAPlainLoop() {
        for width in [3, 5, 6, 8, 12, 13, 15, 16, 24, 29, 48] {
            var layout = ParameterLayout()
            let gate = SoftmaxGate("gate", features: width, layout: &layout)
            let store = ParameterStore(layout: layout)
            var generator = SplitMix64(seed: UInt64(width))
            for i in 0..<store.count { store.values[i] = 2 * generator.nextUnitFloat() - 1 }
            let rows = 21, x = (0..<(rows * width)).map { _ in 6 * generator.nextUnitFloat() - 3 }
            var y = [Float](repeating: 0, count: rows * width), s = y, withResidual = y
            gate.forward(x, &y, rows: rows, weights: &s, store)
            let residual = x.map { $0 * 0.37 - 1 }
            gate.forward(x, &withResidual, rows: rows, weights: &s, adding: residual, store)
            var logits = [Float](repeating: 0, count: rows * width)
            gate.projection.forward(x, &logits, rows: rows, store)
            for r in 0..<rows {
                let row = Array(logits[(r * width)..<((r + 1) * width)])
                let top = row.withUnsafeBufferPointer { Reduce.max($0.baseAddress!, count: width) }
                let e = row.map { VectorMath.exp($0 - top) }
                let inv = 1 / e.withUnsafeBufferPointer { Reduce.sum($0.baseAddress!, count: width) }
                for f in 0..<width {
                    XCTAssertEqual(s[r * width + f].bitPattern, (e[f] * inv).bitPattern, "width \(width) row \(r) feature \(f)")
                    XCTAssertEqual(y[r * width + f].bitPattern, (x[r * width + f] * (e[f] * inv)).bitPattern)
                    XCTAssertEqual(withResidual[r * width + f].bitPattern, (residual[r * width + f] + y[r * width + f]).bitPattern)
                }
            }
        }
    }

    /// The gate's backward (narrow rows eight at a time, the rest one by one) gives the bits of a plain loop:
    /// dlogits = s ⊙ (dy ⊙ x - Reduce.dot(dy ⊙ x, s)), dx = dy ⊙ s + dlogits · W, dW = dlogitsᵀ · x.
    func testSoftmaxGateBackwardMatchesAPlainLoop() {
        for width in [3, 6, 8, 12, 15, 16, 29] {
            for overwriting in [false, true] {
                var layout = ParameterLayout()
                let gate = SoftmaxGate("gate", features: width, layout: &layout)
                let store = ParameterStore(layout: layout), reference = ParameterStore(layout: layout)
                var generator = SplitMix64(seed: UInt64(31 * width))
                for i in 0..<store.count { store.values[i] = 2 * generator.nextUnitFloat() - 1; reference.values[i] = store.values[i] }
                let rows = 19, count = rows * width
                let x = (0..<count).map { _ in 6 * generator.nextUnitFloat() - 3 }
                let dy = (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 }
                let start = (0..<count).map { _ in generator.nextUnitFloat() - 0.5 }
                var y = [Float](repeating: 0, count: count), s = y, dx = start
                gate.forward(x, &y, rows: rows, weights: &s, store)
                gate.backward(dy: dy, x: x, weights: s, dx: &dx, rows: rows, scratch: FloatBuffer(), store, overwritingInput: overwriting)
                var dlogits = [Float](repeating: 0, count: count), expected = start
                for r in 0..<rows {
                    let at = r * width
                    let product = (0..<width).map { dy[at + $0] * x[at + $0] }
                    let dot = product.withUnsafeBufferPointer { p in s.withUnsafeBufferPointer { Reduce.dot(p.baseAddress!, $0.baseAddress! + at, count: width) } }
                    for f in 0..<width {
                        dlogits[at + f] = s[at + f] * (product[f] - dot)
                        expected[at + f] = overwriting ? dy[at + f] * s[at + f] : expected[at + f] + dy[at + f] * s[at + f]
                    }
                }
                gate.projection.backward(dy: dlogits, x: x, dx: &expected, rows: rows, reference)
                for i in 0..<count { XCTAssertEqual(dx[i].bitPattern, expected[i].bitPattern, "width \(width) element \(i)") }
                for i in 0..<store.count { XCTAssertEqual(store.gradients[i].bitPattern, reference.gradients[i].bitPattern, "width \(width) parameter \(i)") }
            }
        }
    }

    /// LayerNorm (rows of at most 15 features eight at a time, one per lane; the rest one by one) gives the bits
    /// of a plain loop over Reduce, forward and backward, γ and β's gradients included, with rows swapped or not,
    /// adding into dx or writing dx = (0 + gradient) + residual.
    func testLayerNormMatchesAPlainLoop() {
        for width in [3, 6, 8, 12, 15, 16] {
            for (swap, withResidual) in [(nil, false), (LeadingSwap(first: 5, second: 2), false), (nil, true), (LeadingSwap(first: 5, second: 2), true)] {
                var layout = ParameterLayout()
                let norm = LayerNorm("ln", features: width, layout: &layout)
                let store = ParameterStore(layout: layout), reference = ParameterStore(layout: layout)
                var generator = SplitMix64(seed: UInt64(7 * width))
                for i in 0..<store.count { store.values[i] = 2 * generator.nextUnitFloat() - 1; reference.values[i] = store.values[i] }
                let rows = 30, count = rows * width  // inner 3 when swapped
                let x = (0..<count).map { _ in 4 * generator.nextUnitFloat() - 1 }
                let dy = (0..<count).map { _ in 2 * generator.nextUnitFloat() - 1 }
                let start = (0..<count).map { _ in generator.nextUnitFloat() - 0.5 }
                let residual = withResidual ? (0..<count).map { _ in generator.nextUnitFloat() - 0.5 } : nil
                var y = [Float](repeating: 0, count: count), mean = [Float](repeating: 0, count: rows), inverseStd = mean, dx = start
                norm.forward(x, &y, rows: rows, mean: &mean, inverseStd: &inverseStd, swapping: swap, store)
                norm.backward(dy: dy, dx: &dx, rows: rows, x: x, mean: mean, inverseStd: inverseStd, swapping: swap, residual: residual,
                              scratch: FloatBuffer(), store)
                let g = reference.value(norm.weight), b = reference.value(norm.bias)
                let dg = reference.gradient(norm.weight), db = reference.gradient(norm.bias)
                var expected = start
                let d = Float(width)
                for r in 0..<rows {  // visit order r, as forEachRow
                    let target = swap.map { ((r / 3) % $0.second * $0.first + r / 3 / $0.second) * 3 + r % 3 } ?? r  // inner 3
                    let row = Array(x[(r * width)..<((r + 1) * width)]), gradient = Array(dy[(target * width)..<((target + 1) * width)])
                    let mu = row.withUnsafeBufferPointer { Reduce.sum($0.baseAddress!, count: width) } / d
                    let inv = 1 / (row.withUnsafeBufferPointer { Reduce.sumOfSquares($0.baseAddress!, count: width, around: mu) } / d + 1e-5).squareRoot()
                    XCTAssertEqual(mean[target].bitPattern, mu.bitPattern, "width \(width) row \(r)")
                    XCTAssertEqual(inverseStd[target].bitPattern, inv.bitPattern, "width \(width) row \(r)")
                    let n = row.map { ($0 - mu) * inv }
                    for f in 0..<width { XCTAssertEqual(y[target * width + f].bitPattern, (g[f] * n[f] + b[f]).bitPattern, "width \(width) row \(r)") }
                    for f in 0..<width { dg[f] += gradient[f] * n[f]; db[f] += gradient[f] }
                    let scaled = (0..<width).map { gradient[$0] * g[$0] }
                    let sumD = scaled.withUnsafeBufferPointer { Reduce.sum($0.baseAddress!, count: width) }
                    let sumDX = scaled.withUnsafeBufferPointer { s in n.withUnsafeBufferPointer { Reduce.dot(s.baseAddress!, $0.baseAddress!, count: width) } }
                    for f in 0..<width {
                        let step = inv / d * (d * gradient[f] * g[f] - sumD - n[f] * sumDX), at = r * width + f
                        expected[at] = residual.map { (0 + step) + $0[at] } ?? expected[at] + step
                    }
                }
                for i in 0..<count { XCTAssertEqual(dx[i].bitPattern, expected[i].bitPattern, "width \(width) swapped \(swap != nil) element \(i)") }
                for i in 0..<store.count { XCTAssertEqual(store.gradients[i].bitPattern, reference.gradients[i].bitPattern, "width \(width) parameter \(i)") }
            }
        }
    }
}
