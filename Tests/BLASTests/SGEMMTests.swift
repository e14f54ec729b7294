import XCTest
@testable import BLAS

final class SGEMMTests: XCTestCase {
    /// Reference C = alpha * op(A) * op(B) + beta * C in Double, reading the same strided storage.
    private func naiveGEMM(
        _ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float,
        a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int
    ) -> (values: [Double], scale: [Double]) {
        var out = c.map(Double.init)
        var scale = [Double](repeating: 0, count: c.count)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0, magnitude = 0.0
                for p in 0..<k {
                    let av = Double(ta == .none ? a[i * lda + p] : a[p * lda + i])
                    let bv = Double(tb == .none ? b[p * ldb + j] : b[j * ldb + p])
                    sum += av * bv
                    magnitude += abs(av * bv)
                }
                out[i * ldc + j] = Double(alpha) * sum + Double(beta) * Double(c[i * ldc + j])
                scale[i * ldc + j] = abs(Double(alpha)) * magnitude + abs(Double(beta) * Double(c[i * ldc + j]))
            }
        }
        return (out, scale)
    }

    func testMatchesNaiveLoopForEveryTransposeAndRandomShapes() {
        var rng = SystemRandomNumberGenerator()
        var checked = 0
        for (ta, tb) in [(Transpose.none, Transpose.none), (.none, .transposed), (.transposed, .none), (.transposed, .transposed)] {
            for _ in 0..<6 {
                let m = Int.random(in: 1...37, using: &rng)
                let n = Int.random(in: 1...41, using: &rng)
                let k = Int.random(in: 1...53, using: &rng)
                // Leading dimensions with padding, so strides are exercised and not just contiguous storage.
                let lda = (ta == .none ? k : m) + Int.random(in: 0...3, using: &rng)
                let ldb = (tb == .none ? n : k) + Int.random(in: 0...3, using: &rng)
                let ldc = n + Int.random(in: 0...3, using: &rng)
                let aRows = ta == .none ? m : k
                let bRows = tb == .none ? k : n
                let a = (0..<(aRows * lda)).map { _ in Float.random(in: -1...1, using: &rng) }
                let b = (0..<(bRows * ldb)).map { _ in Float.random(in: -1...1, using: &rng) }
                var c = (0..<(m * ldc)).map { _ in Float.random(in: -1...1, using: &rng) }
                let alpha = Float.random(in: 0.5...1.5, using: &rng)
                let beta: Float = [0, 1, -0.75].randomElement(using: &rng)!
                let reference = naiveGEMM(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                          beta: beta, c: c, ldc: ldc)
                let padding = c
                c.withUnsafeMutableBufferPointer { cp in
                    sgemm(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                          beta: beta, c: cp.baseAddress!, ldc: ldc)
                }
                for i in 0..<m {
                    for j in 0..<ldc {
                        let index = i * ldc + j
                        if j >= n {
                            XCTAssertEqual(c[index], padding[index], "sgemm wrote into the padding of C")
                            continue
                        }
                        // float32 accumulation: error bounded by a few ulps times the sum of magnitudes.
                        let tolerance = 4 * Double(k) * Double(Float.ulpOfOne) * reference.scale[index] + 1e-7
                        XCTAssertEqual(Double(c[index]), reference.values[index], accuracy: tolerance,
                                       "\(ta)/\(tb) m=\(m) n=\(n) k=\(k) at (\(i), \(j))")
                    }
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, 24)
    }

    func testZeroInnerDimensionScalesC() {
        var c: [Float] = [1, 2, 3, 4]
        let empty: [Float] = [0]
        c.withUnsafeMutableBufferPointer { cp in
            sgemm(.none, .none, m: 2, n: 2, k: 0, a: empty, lda: 1, b: empty, ldb: 2, beta: 0.5, c: cp.baseAddress!, ldc: 2)
        }
        XCTAssertEqual(c, [0.5, 1, 1.5, 2])
    }
}
