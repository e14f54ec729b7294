import Flow
import Foundation
import NN
import XCTest

/// Every flow layer: inverse(forward(x)) = x, log|det J| equal to that of a finite-difference Jacobian, and
/// finite differences of a loss that includes the log-determinant against the analytic gradients.
final class FlowLayerTests: XCTestCase {
    private struct Case {
        let name: String
        let layer: FlowLayer
        let store: ParameterStore
    }

    /// An ActNorm and both parities of an affine coupling (odd and even widths), with random parameters (a
    /// fresh coupling is the identity, which would test nothing).
    private func cases(features: Int) -> [Case] {
        var result: [Case] = []
        var layout = ParameterLayout()
        let norm = ActNorm("norm", features: features, layout: &layout)
        let normStore = ParameterStore(layout: layout)
        randomize(normStore, seed: 3, scale: 0.4)
        result.append(Case(name: "ActNorm(\(features))", layer: norm, store: normStore))
        var linearLayout = ParameterLayout()
        let linear = InvertibleLinear("conv", features: features, layout: &linearLayout)
        let linearStore = ParameterStore(layout: linearLayout)
        linear.initialize(linearStore, seed: 9)  // a rotation, then bent so that log|det| is not 0
        var bend = Lcg(seed: 13)
        for i in 0..<(features * features) { linearStore.value(linear.weight)[i] += 0.3 * bend.normal() }
        result.append(Case(name: "InvertibleLinear(\(features))", layer: linear, store: linearStore))
        for first in [false, true] {
            var layout = ParameterLayout()
            let coupling = AffineCoupling("c", features: features, hidden: 6, transformsFirstPart: first, layout: &layout)
            let store = ParameterStore(layout: layout)
            randomize(store, seed: first ? 5 : 7, scale: 0.5)
            result.append(Case(name: "AffineCoupling(\(features), first: \(first))", layer: coupling, store: store))
        }
        return result
    }

    func testLayersInvert() {
        for features in [4, 5] {
            for c in cases(features: features) {
                let rows = 6, count = rows * features
                var generator = Lcg(seed: 11)
                let x = generator.array(count, scale: 1.5)
                var y = [Float](repeating: 0, count: count), back = y, logdet = [Float](repeating: 0, count: 2)
                c.layer.forward(x, &y, rows: rows, samples: 2, logdet: &logdet, c.store)
                c.layer.inverse(y, &back, rows: rows, c.store)
                let error = zip(x, back).map { abs($0 - $1) }.max()!
                XCTAssertLessThanOrEqual(error, 1e-4, c.name)
                XCTAssertGreaterThan(zip(x, y).map { abs($0 - $1) }.max()!, 1e-2, "\(c.name) is not the identity")
            }
        }
    }

    /// One sample of 2 rows x 5 features: log|det| of the 10 x 10 Jacobian, by central differences in float and
    /// an LU decomposition in double, within 1e-3 relative of the layer's own.
    func testLogDeterminantsMatchABruteForceJacobian() {
        for c in cases(features: 5) {
            let rows = 2, n = rows * 5
            var generator = Lcg(seed: 17)
            let x = generator.array(n)
            var logdet: [Float] = [0], y = [Float](repeating: 0, count: n)
            c.layer.forward(x, &y, rows: rows, samples: 1, logdet: &logdet, c.store)
            var jacobian = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
            let h: Float = 1e-2
            for j in 0..<n {
                var plus = x, minus = x, yp = y, ym = y, scratch: [Float] = [0]
                plus[j] += h; minus[j] -= h
                c.layer.forward(plus, &yp, rows: rows, samples: 1, logdet: &scratch, c.store)
                c.layer.forward(minus, &ym, rows: rows, samples: 1, logdet: &scratch, c.store)
                for i in 0..<n { jacobian[i][j] = (Double(yp[i]) - Double(ym[i])) / (2 * Double(h)) }
            }
            let expected = logAbsDeterminant(jacobian)
            XCTAssertEqual(Double(logdet[0]), expected, accuracy: 1e-3 * max(abs(expected), 1), c.name)
        }
    }

    func testGradientsIncludingTheLogDeterminant() {
        for c in cases(features: 5) {
            let rows = 4, samples = 2, count = rows * 5
            var generator = Lcg(seed: 23)
            let input = generator.array(count)
            let out = FloatBuffer(capacity: count + samples)
            GradientCheck().run(c.name, input: input, store: c.store, outputCount: count + samples, forward: { x in
                let y = out.pointer
                (y + count).update(repeating: 0, count: samples)
                c.layer.forward(x, y, rows: rows, samples: samples, logdet: y + count, c.store)
                return UnsafePointer(y)
            }, backward: { g, dx in
                c.layer.backward(dy: g, dLogdet: g + count, dx: dx, rows: rows, samples: samples, c.store)
            })
        }
    }

    /// Glow's coupling (its conditioner convolves the image) on 2 images of 3 x 2 pixels x 3 channels, both parities:
    /// inverse, log-determinant against the finite-difference Jacobian of one image, gradients.
    func testTheConvolutionalCoupling() {
        for first in [false, true] {
            var layout = ParameterLayout()
            let coupling = AffineCoupling("glow", channels: 3, height: 3, width: 2, hidden: 4, transformsFirstPart: first, layout: &layout)
            let store = ParameterStore(layout: layout)
            randomize(store, seed: first ? 61 : 67, scale: 0.5)
            let rows = 12, count = 36
            var generator = Lcg(seed: 71)
            let x = generator.array(count)
            var y = [Float](repeating: 0, count: count), back = y, logdet: [Float] = [0, 0]
            coupling.forward(x, &y, rows: rows, samples: 2, logdet: &logdet, store)
            coupling.inverse(y, &back, rows: rows, store)
            XCTAssertLessThanOrEqual(zip(x, back).map { abs($0 - $1) }.max()!, 1e-4)
            var jacobian = [[Double]](repeating: [Double](repeating: 0, count: 18), count: 18)
            for j in 0..<18 {
                var plus = Array(x[0..<18]), minus = plus, yp = [Float](repeating: 0, count: 18), ym = yp, scratch: [Float] = [0]
                plus[j] += 1e-2; minus[j] -= 1e-2
                coupling.forward(plus, &yp, rows: 6, samples: 1, logdet: &scratch, store)
                coupling.forward(minus, &ym, rows: 6, samples: 1, logdet: &scratch, store)
                for i in 0..<18 { jacobian[i][j] = (Double(yp[i]) - Double(ym[i])) / 2e-2 }
            }
            let expected = logAbsDeterminant(jacobian)
            XCTAssertEqual(Double(logdet[0]), expected, accuracy: 1e-3 * max(abs(expected), 1))
            let out = FloatBuffer(capacity: count + 2)
            GradientCheck(step: 1e-3, tolerance: 5e-3).run("glow coupling", input: x, store: store, outputCount: count + 2, forward: { x in
                (out.pointer + count).update(repeating: 0, count: 2)
                coupling.forward(x, out.pointer, rows: rows, samples: 2, logdet: out.pointer + count, store)
                return UnsafePointer(out.pointer)
            }, backward: { g, dx in
                coupling.backward(dy: g, dLogdet: g + count, dx: dx, rows: rows, samples: 2, store)
            })
        }
    }

    /// A 3 x 3 convolution with zero padding against finite differences, and against a direct sum at one pixel.
    func testConvolution() {
        var layout = ParameterLayout()
        let conv = Conv2D("conv", height: 3, width: 4, in: 2, out: 3, kernel: 3, layout: &layout)
        let store = ParameterStore(layout: layout)
        randomize(store, seed: 73)
        var generator = Lcg(seed: 79)
        let x = generator.array(2 * 3 * 4 * 2)
        let y = FloatBuffer(capacity: 2 * 3 * 4 * 3)
        conv.forward(x, y.pointer, batch: 2, store)
        // Output channel 1 at image 1, pixel (0, 3): the taps that fall inside the image.
        let w = store.value(conv.linear.weight), b = store.value(conv.linear.bias!)
        var expected = b[1]
        for di in 0..<3 { for dj in 0..<3 {
            let i = 0 + di - 1, j = 3 + dj - 1
            guard i >= 0, i < 3, j >= 0, j < 4 else { continue }
            for c in 0..<2 { expected += w[1 * 18 + (di * 3 + dj) * 2 + c] * x[((1 * 3 + i) * 4 + j) * 2 + c] }
        } }
        XCTAssertEqual(y.pointer[((1 * 3 + 0) * 4 + 3) * 3 + 1], expected, accuracy: 1e-5)
        GradientCheck().run("Conv2D", input: x, store: store, outputCount: 72, forward: { x in
            conv.forward(x, y.pointer, batch: 2, store)
            return UnsafePointer(y.pointer)
        }, backward: { g, dx in conv.backward(dy: g, dx: dx, batch: 2, store) })
    }

    /// ActNorm's data-dependent start gives zero mean and unit variance per feature, and is recorded.
    func testActNormStartsFromTheData() {
        var layout = ParameterLayout()
        let norm = ActNorm("n", features: 3, layout: &layout)
        let store = ParameterStore(layout: layout)
        var generator = Lcg(seed: 29)
        let x = (0..<300).map { i in generator.normal() * Float(1 + i % 3) + Float(i % 3) * 4 }
        XCTAssertFalse(norm.isInitialized(store))
        norm.initialize(from: x, rows: 100, store)
        XCTAssertTrue(norm.isInitialized(store))
        var y = [Float](repeating: 0, count: 300), logdet: [Float] = [0]
        norm.forward(x, &y, rows: 100, samples: 1, logdet: &logdet, store)
        for j in 0..<3 {
            let column = (0..<100).map { Double(y[$0 * 3 + j]) }
            let mean = column.reduce(0, +) / 100
            XCTAssertEqual(mean, 0, accuracy: 1e-5)
            XCTAssertEqual(column.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 100, 1, accuracy: 1e-4)
        }
    }

    /// A fresh coupling (last layer zero) is the identity with log-determinant 0.
    func testAFreshCouplingIsTheIdentity() {
        var layout = ParameterLayout()
        let coupling = AffineCoupling("c", features: 6, hidden: 8, transformsFirstPart: false, layout: &layout)
        let store = ParameterStore(layout: layout)
        coupling.initialize(store, seed: 1)
        var generator = Lcg(seed: 31)
        let x = generator.array(18)
        var y = [Float](repeating: 0, count: 18), logdet: [Float] = [0]
        coupling.forward(x, &y, rows: 3, samples: 1, logdet: &logdet, store)
        XCTAssertEqual(y, x)
        XCTAssertEqual(logdet, [0])
    }
}

/// log|det A| by LU decomposition with partial pivoting.
func logAbsDeterminant(_ matrix: [[Double]]) -> Double {
    var a = matrix
    let n = a.count
    var sum = 0.0
    for k in 0..<n {
        let pivot = (k..<n).max { abs(a[$0][k]) < abs(a[$1][k]) }!
        a.swapAt(k, pivot)
        sum += log(abs(a[k][k]))
        for i in (k + 1)..<n {
            let f = a[i][k] / a[k][k]
            for j in k..<n { a[i][j] -= f * a[k][j] }
        }
    }
    return sum
}
