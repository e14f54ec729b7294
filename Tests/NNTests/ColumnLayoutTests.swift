import BLAS
@testable import NN
import XCTest

/// The layers on the column layout (features along the leading axis, TTM's patch and channel mixers): the
/// small-operand GEMMs against sgemm, finite differences for each layer, and the dropout and swap mappings.
final class ColumnLayoutTests: XCTestCase {
    let check = GradientCheck()

    // MARK: SmallGEMM against sgemm

    /// Shapes with odd m (the single-row path), columns with 32-, 8- and 1-wide remainders, A as stored and
    /// transposed, and the three starting values (zero, bias, C itself).
    func testMultiplyMatchesSGEMM() {
        var g = Lcg(seed: 31)
        for (m, k, columns) in [(16, 8, 12288 / 64), (7, 3, 45), (1, 5, 8), (5, 1, 3), (64, 32, 97)] {
            for transposed in [false, true] {
                for start in ["zero", "bias", "accumulate"] {
                    let a = g.array(m * k), b = g.array(k * columns), bias = g.array(m), c0 = g.array(m * columns)
                    var expected = c0, actual = c0
                    if start == "bias" { for r in 0..<m { for j in 0..<columns { expected[r * columns + j] = bias[r] } } }
                    sgemm(transposed ? .transposed : .none, .none, m: m, n: columns, k: k, a: a, lda: transposed ? m : k,
                          b: b, ldb: columns, beta: start == "zero" ? 0 : 1, c: &expected, ldc: columns)
                    SmallGEMM.multiply(m: m, k: k, columns: columns, a: a, aRow: transposed ? 1 : k, aColumn: transposed ? m : 1,
                                       b: b, c: &actual, bias: start == "bias" ? bias : nil, accumulate: start == "accumulate")
                    for i in 0..<(m * columns) {
                        XCTAssertEqual(actual[i], expected[i], accuracy: 1e-4 * max(1, abs(expected[i])),
                                       "m \(m) k \(k) columns \(columns) transposed \(transposed) \(start) element \(i)")
                    }
                }
            }
        }
    }

    /// m and n with remainders of the 4 × 2 blocks, columns with an 8-wide remainder, columns past one chunk
    /// of 512, and n past the 32 pairs that one pass keeps accumulators for.
    func testMultiplyTransposedMatchesSGEMM() {
        var g = Lcg(seed: 32)
        for (m, n, columns) in [(16, 8, 200), (7, 3, 45), (1, 1, 5), (5, 9, 64), (8, 6, 1_100), (4, 70, 40)] {
            let a = g.array(m * columns), b = g.array(n * columns), c0 = g.array(m * n)
            var expected = c0, actual = c0
            sgemm(.none, .transposed, m: m, n: n, k: columns, a: a, lda: columns, b: b, ldb: columns, beta: 1, c: &expected, ldc: n)
            SmallGEMM.multiplyTransposed(m: m, n: n, columns: columns, a: a, b: b, c: &actual, ldc: n)
            for i in 0..<(m * n) {
                XCTAssertEqual(actual[i], expected[i], accuracy: 1e-4 * max(1, abs(expected[i])), "m \(m) n \(n) columns \(columns) element \(i)")
            }
            // Inside the 4 × 2 blocks, chunking keeps each lane's additions in column order: the bits of one pass
            // of fused multiply-adds per lane, lanes summed pairwise, then the tail.
            for i in 0..<(m / 4 * 4) {
                for j in 0..<(n / 2 * 2) {
                    let row = a[(i * columns)...], other = b[(j * columns)...], whole = columns / 8 * 8
                    var lanes = [Float](repeating: 0, count: 8)
                    for t in stride(from: 0, to: whole, by: 8) {
                        for l in 0..<8 { lanes[l] = lanes[l].addingProduct(row[i * columns + t + l], other[j * columns + t + l]) }
                    }
                    var total = ((lanes[0] + lanes[4]) + (lanes[1] + lanes[5])) + ((lanes[2] + lanes[6]) + (lanes[3] + lanes[7]))
                    for u in whole..<columns { total = total.addingProduct(row[i * columns + u], other[j * columns + u]) }
                    XCTAssertEqual(actual[i * n + j].bitPattern, (c0[i * n + j] + total).bitPattern, "m \(m) n \(n) columns \(columns) (\(i), \(j))")
                }
            }
        }
    }

    // MARK: finite differences

    /// A small layer (SmallGEMM) and one past `SmallGEMM.maxSmallElements` (sgemm), over 37 columns.
    func testLinearOnColumns() {
        for (inFeatures, outFeatures) in [(4, 3), (65, 64)] {
            var layout = ParameterLayout()
            let layer = Linear("fc", in: inFeatures, out: outFeatures, layout: &layout)
            XCTAssertEqual(layer.usesSmallKernels, inFeatures < 64)
            let store = ParameterStore(layout: layout)
            randomize(store, seed: 33)
            var g = Lcg(seed: 34)
            let columns = 37
            let y = FloatBuffer(capacity: outFeatures * columns)
            var savedX: UnsafePointer<Float>!
            check.run("Linear on columns \(inFeatures)→\(outFeatures)", input: g.array(inFeatures * columns), store: store,
                      outputCount: outFeatures * columns,
                      forward: { x in savedX = x; layer.forward(columns: x, y.pointer, count: columns, store); return UnsafePointer(y.pointer) },
                      backward: { dy, dx in layer.backward(columns: dy, x: savedX, dx: dx, count: columns, store) })
        }
    }

    /// Columns are independent, and the forward's blocks of four vectors (32 columns with eight lanes, 64 with
    /// AVX-512), its eight-column vectors and the one-column tail do the same operations per column: 77 columns
    /// give, column by column, the bits of the gate run on that column alone (whichever build runs: the column
    /// alone takes the tail, the same in both). Forward and backward.
    /// 2,085 columns: the backward's two whole chunks of 1,024 columns and a third of 37.
    func testSoftmaxGateOnColumnsIsTheSameInEveryBlockWidth() {
        for columns in [77, 2_085] {
            var layout = ParameterLayout()
            let k = 6
            let gate = SoftmaxGate("gate", features: k, layout: &layout)
            let store = ParameterStore(layout: layout)
            randomize(store, seed: 41)
            var g = Lcg(seed: 42)
            let x = g.array(k * columns), dy = g.array(k * columns)
            var y = [Float](repeating: 0, count: k * columns), s = y, dx = y
            gate.forward(columns: x, &y, count: columns, weights: &s, store)
            gate.backward(columns: dy, x: x, weights: s, dx: &dx, count: columns, scratch: FloatBuffer(), store, overwritingInput: true)
            for column in 0..<columns {
                let xc = (0..<k).map { x[$0 * columns + column] }, dyc = (0..<k).map { dy[$0 * columns + column] }
                var yc = [Float](repeating: 0, count: k), sc = yc, dxc = yc
                gate.forward(columns: xc, &yc, count: 1, weights: &sc, store)
                gate.backward(columns: dyc, x: xc, weights: sc, dx: &dxc, count: 1, scratch: FloatBuffer(), store, overwritingInput: true)
                for r in 0..<k {
                    XCTAssertEqual(y[r * columns + column].bitPattern, yc[r].bitPattern, "y, column \(column) row \(r)")
                    XCTAssertEqual(s[r * columns + column].bitPattern, sc[r].bitPattern, "s, column \(column) row \(r)")
                    XCTAssertEqual(dx[r * columns + column].bitPattern, dxc[r].bitPattern, "dx, column \(column) row \(r)")
                }
            }
        }
    }

    /// 45 columns: one 32-column block, one eight-lane chunk and a five-column tail.
    func testSoftmaxGateOnColumns() {
        var layout = ParameterLayout()
        let gate = SoftmaxGate("gate", features: 5, layout: &layout)
        let store = ParameterStore(layout: layout)
        randomize(store, seed: 35)
        var g = Lcg(seed: 36)
        let columns = 45, count = 5 * columns
        let y = FloatBuffer(capacity: count), s = FloatBuffer(capacity: count), scratch = FloatBuffer()
        var savedX: UnsafePointer<Float>!
        check.run("SoftmaxGate on columns", input: g.array(count), store: store, outputCount: count,
                  forward: { x in savedX = x; gate.forward(columns: x, y.pointer, count: columns, weights: s.pointer, store); return UnsafePointer(y.pointer) },
                  backward: { dy, dx in gate.backward(columns: dy, x: savedX, weights: s.pointer, dx: dx, count: columns, scratch: scratch, store) })
    }

    func testMLPOnColumnsWithDropout() {
        var layout = ParameterLayout()
        let mlp = MLP("mlp", in: 4, hidden: 7, out: 3, activation: .gelu, dropout: 0.3, onColumns: true, layout: &layout)
        let store = ParameterStore(layout: layout)
        randomize(store, seed: 37)
        var g = Lcg(seed: 38)
        let columns = 18
        let y = FloatBuffer(capacity: 3 * columns)
        var savedX: UnsafePointer<Float>!
        let mode = ForwardMode.training(.init(seed: 5, step: 1, firstSample: 0))
        check.run("MLP on columns", input: g.array(4 * columns), store: store, outputCount: 3 * columns,
                  forward: { x in savedX = x; mlp.forward(x, y.pointer, positions: columns, samples: 2, mode: mode, store); return UnsafePointer(y.pointer) },
                  backward: { dy, dx in mlp.backward(dy: dy, x: savedX, dx: dx, positions: columns, store) })
    }

    /// Rows [first 2, second 3, inner 2] of 6 features, written as [3, 2, 2].
    func testLayerNormWithSwappedRows() {
        var layout = ParameterLayout()
        let layer = LayerNorm("ln", features: 6, layout: &layout)
        let store = ParameterStore(layout: layout)
        randomize(store, seed: 39)
        var g = Lcg(seed: 40)
        let rows = 12, count = rows * 6, swap = LeadingSwap(first: 2, second: 3)
        let y = FloatBuffer(capacity: count), mean = FloatBuffer(capacity: rows), inv = FloatBuffer(capacity: rows)
        let scratch = FloatBuffer()
        let input = g.array(count)
        var savedX: UnsafePointer<Float>!
        check.run("LayerNorm swapped", input: input, store: store, outputCount: count,
                  forward: { x in
                      savedX = x
                      layer.forward(x, y.pointer, rows: rows, mean: mean.pointer, inverseStd: inv.pointer, swapping: swap, store)
                      return UnsafePointer(y.pointer)
                  },
                  backward: { dy, dx in
                      layer.backward(dy: dy, dx: dx, rows: rows, x: savedX, mean: mean.pointer, inverseStd: inv.pointer, swapping: swap,
                                     scratch: scratch, store)
                  })
        // The swapped output is the plain output with its rows moved: row (a, b, t) to (b, a, t).
        let plain = FloatBuffer(capacity: count), mean2 = FloatBuffer(capacity: rows), inv2 = FloatBuffer(capacity: rows)
        input.withUnsafeBufferPointer { x in
            layer.forward(x.baseAddress!, y.pointer, rows: rows, mean: mean.pointer, inverseStd: inv.pointer, swapping: swap, store)
            layer.forward(x.baseAddress!, plain.pointer, rows: rows, mean: mean2.pointer, inverseStd: inv2.pointer, store)
        }
        for a in 0..<2 { for b in 0..<3 { for t in 0..<2 { for f in 0..<6 {
            XCTAssertEqual(y.pointer[((b * 2 + a) * 2 + t) * 6 + f], plain.pointer[((a * 3 + b) * 2 + t) * 6 + f])
        } } } }
    }

    func testSwapLeadingTwo() {
        var g = Lcg(seed: 41)
        let x = g.array(2 * 3 * 4), z = g.array(2 * 3 * 4)
        var y = [Float](repeating: 0, count: 24), sum = y
        Permute.swapLeadingTwo(x, &y, first: 2, second: 3, width: 4)
        Permute.swapLeadingTwo(x, plus: z, &sum, first: 2, second: 3, width: 4)
        for a in 0..<2 { for b in 0..<3 { for j in 0..<4 {
            XCTAssertEqual(y[(b * 2 + a) * 4 + j], x[(a * 3 + b) * 4 + j])
            XCTAssertEqual(sum[(b * 2 + a) * 4 + j], x[(a * 3 + b) * 4 + j] + z[(b * 2 + a) * 4 + j])
        } } }
    }

    // MARK: dropout on columns

    /// Sample s's element (r, j) is element r·width + j of its stream, wherever the column layout puts it, and
    /// the mask does not depend on how the samples are split.
    /// Widths up to 16 (6, 12, 13) take the staged path (DropoutNarrowColumns.swift) over more than one chunk
    /// of 256 elements per sample, with rows that straddle two chunks; 40 the row-by-row path.
    func testDropoutOnColumnsDrawsTheSampleStream() {
        for (rows, width) in [(3, 40), (100, 6), (50, 12), (41, 13)] {
            let dropout = Dropout(rate: 0.4, site: 7)
            let samples = 4, count = rows * samples * width
            let context = Dropout.Context(seed: 12, step: 5, firstSample: 10)
            let ones = [Float](repeating: 1, count: count)
            var y = [Float](repeating: 0, count: count)
            let mask = DropoutMask()
            dropout.forward(columns: ones, &y, mask: mask, rows: rows, samples: samples, width: width, context: context)
            var stream = context.stream
            stream.site = 7
            let threshold = RandomStream.maskThreshold(rate: 0.4)
            for r in 0..<rows { for s in 0..<samples { for j in 0..<width {
                let kept = stream.maskDraw(sample: 10 + s, element: r * width + j) >= threshold, at = (r * samples + s) * width + j
                XCTAssertEqual(y[at], kept ? 1 / 0.6 : 0, "width \(width) row \(r) sample \(s) column \(j)")
                XCTAssertEqual(mask.keep[at], kept ? 1 : 0, "width \(width) row \(r) sample \(s) column \(j)")
            } } }
        }
    }

    /// Without a kept mask (a pass with no backward) dropout multiplies as it draws: the same outputs, in both
    /// layouts and in place, on rows whose lengths end inside a Philox group; a backward after it is refused.
    func testDropoutWithoutKeptMaskGivesTheSameOutput() {
        let dropout = Dropout(rate: 0.3, site: 4)
        let context = Dropout.Context(seed: 9, step: 2, firstSample: 3)
        for (rows, width, columns) in [(3, 44, false), (3, 44, true), (50, 6, true)] {   // 6: the staged path
            let samples = 5, count = rows * samples * width
            let x = (0..<count).map { Float($0 % 17) - 8.5 }
            var kept = [Float](repeating: 0, count: count), inPlace = x
            let withMask = DropoutMask(), withoutMask = DropoutMask()
            func drop(_ source: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ mask: DropoutMask, keep: Bool) {
                if columns {
                    dropout.forward(columns: source, out, mask: mask, rows: rows, samples: samples, width: width, context: context, keepMask: keep)
                } else {
                    dropout.forward(source, out, mask: mask, samples: samples, perSample: rows * width, context: context, keepMask: keep)
                }
            }
            drop(x, &kept, withMask, keep: true)
            inPlace.withUnsafeMutableBufferPointer { drop($0.baseAddress!, $0.baseAddress!, withoutMask, keep: false) }
            XCTAssertEqual(inPlace, kept, "columns \(columns)")
            XCTAssertTrue(kept.contains(0) && kept.contains { $0 != 0 }, "columns \(columns)")
            XCTAssertTrue(withMask.kept)
            XCTAssertFalse(withoutMask.kept)
        }
    }
}
