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
}
