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

    /// The gate's forward (eight-lane chunks and a tail) gives the bits of a plain loop over Reduce and exp, and
    /// with a residual those of the residual added afterwards.
    func testSoftmaxGateMatchesAPlainLoop() {
        for width in [3, 5, 8, 13, 16, 24, 29, 48] {
            var layout = ParameterLayout()
            let gate = SoftmaxGate("gate", features: width, layout: &layout)
            let store = ParameterStore(layout: layout)
            var generator = SplitMix64(seed: UInt64(width))
            for i in 0..<store.count { store.values[i] = 2 * generator.nextUnitFloat() - 1 }
            let rows = 5, x = (0..<(rows * width)).map { _ in 6 * generator.nextUnitFloat() - 3 }
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
}
