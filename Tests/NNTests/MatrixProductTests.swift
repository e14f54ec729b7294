import BLAS
import CPUFeatures
import Kernels
import KernelsAVX512
@testable import NN
import XCTest

/// The engine's GEMM (Kernels' `PanelGEMM`, NN's `MatrixProduct`) against its contract: every element of C is
/// its start plus the products added in order of the inner index, one fused multiply-add each, so both builds
/// give exactly the bits of that loop, for every layout, ragged tile and depth block, on one thread or several;
/// a finishing mask (and factor) gives the bits of the elementwise pass it replaces.
final class MatrixProductTests: XCTestCase {
    enum StartKind: CaseIterable { case zero, accumulate, rowBias, columnBias }
    enum FinishKind: CaseIterable { case none, mask, maskAndFactor }

    struct Case {
        let m, n, k: Int
        let transA, transB: Bool
        /// Leading dimensions past the minimum, so strides and the gap in C are exercised.
        let pad: Int
    }

    /// Ragged rows (past a multiple of six), ragged columns (inside a vector, past whole vectors), several depth
    /// blocks (k past 8192 / 64 and 8192 / 16), a single row or column, and an empty inner dimension.
    let cases: [Case] = [
        Case(m: 1, n: 1, k: 1, transA: false, transB: false, pad: 0),
        Case(m: 7, n: 5, k: 3, transA: true, transB: false, pad: 2),
        Case(m: 12, n: 64, k: 129, transA: false, transB: true, pad: 0),
        Case(m: 13, n: 37, k: 300, transA: true, transB: true, pad: 3),
        Case(m: 25, n: 100, k: 1100, transA: false, transB: false, pad: 1),
        Case(m: 64, n: 200, k: 96, transA: true, transB: false, pad: 0),
        Case(m: 9, n: 48, k: 520, transA: false, transB: true, pad: 5),
        Case(m: 5, n: 3, k: 0, transA: false, transB: false, pad: 1),
        // Narrow products (fewer columns than two vectors, rows back to back: `PanelGEMM.narrow`), with rows past
        // whole blocks of eight and the last rows, which are stored lane by lane.
        Case(m: 300, n: 6, k: 12, transA: false, transB: true, pad: 0),
        Case(m: 37, n: 7, k: 5, transA: true, transB: false, pad: 0),
        Case(m: 130, n: 12, k: 9, transA: false, transB: false, pad: 0),
        Case(m: 70, n: 24, k: 7, transA: false, transB: true, pad: 0),
        Case(m: 45, n: 8, k: 3, transA: true, transB: true, pad: 0),
        // Deep narrow products (a few rows and columns, B's rows contiguous, k of 512 or more:
        // `PanelGEMM.deepNarrow`): six-row blocks with rows past m, one and two vectors, B's last rows staged.
        Case(m: 6, n: 12, k: 600, transA: true, transB: false, pad: 0),
        Case(m: 13, n: 5, k: 777, transA: true, transB: false, pad: 2),
        Case(m: 24, n: 17, k: 513, transA: false, transB: false, pad: 1),
        Case(m: 2, n: 1, k: 1024, transA: true, transB: false, pad: 0),
    ]

    /// The contract, element by element.
    func expected(_ t: Case, a: [Float], lda: Int, b: [Float], ldb: Int, c: [Float], ldc: Int, start: StartKind,
                  bias: [Float], finish: FinishKind, keep: [UInt8], factor: [Float]) -> [Float] {
        var out = c
        for r in 0..<t.m {
            for j in 0..<t.n {
                var acc: Float
                switch start {
                case .zero: acc = 0
                case .accumulate: acc = c[r * ldc + j]
                case .rowBias: acc = bias[r]
                case .columnBias: acc = bias[j]
                }
                for p in 0..<t.k {
                    let x = t.transA ? a[p * lda + r] : a[r * lda + p]
                    let y = t.transB ? b[j * ldb + p] : b[p * ldb + j]
                    acc = acc.addingProduct(x, y)
                }
                let i = r * ldc + j, mask: Float = keep[i] != 0 ? 1.25 : 0
                switch finish {
                case .none: break
                case .mask: acc = acc * mask
                case .maskAndFactor: acc = acc * mask * factor[i]
                }
                out[i] = acc
            }
        }
        return out
    }

    func operands(_ t: Case, _ g: inout Lcg) -> (a: [Float], lda: Int, b: [Float], ldb: Int, c: [Float], ldc: Int, bias: [Float]) {
        let lda = (t.transA ? t.m : t.k) + t.pad, ldb = (t.transB ? t.k : t.n) + t.pad, ldc = t.n + t.pad
        let a = g.array(max(1, (t.transA ? t.k : t.m) * lda)), b = g.array(max(1, (t.transB ? t.n : t.k) * ldb))
        return (a, lda, b, ldb, g.array(t.m * ldc), ldc, g.array(max(t.m, t.n)))
    }

    /// Keep flags (one in five dropped) and factors laid out like C.
    func finishOperands(_ count: Int, _ g: inout Lcg) -> (keep: [UInt8], factor: [Float]) {
        ((0..<count).map { UInt8($0 % 5 == 3 ? 0 : 1) }, g.array(count))
    }

    func finish(_ kind: FinishKind, _ keep: UnsafePointer<UInt8>, _ factor: UnsafePointer<Float>) -> PanelGEMM.Finish {
        switch kind {
        case .none: .none
        case .mask: .masked(keep: keep, scale: 1.25, factor: nil)
        case .maskAndFactor: .masked(keep: keep, scale: 1.25, factor: factor)
        }
    }

    func start(_ kind: StartKind, _ bias: UnsafePointer<Float>) -> PanelGEMM.Start {
        switch kind {
        case .zero: .zero
        case .accumulate: .accumulate
        case .rowBias: .rowBias(bias)
        case .columnBias: .columnBias(bias)
        }
    }

    func testBothBuildsGiveTheBitsOfTheSequentialSum() {
        var builds: [(String, any VectorKernels.Type)] = [("eight lanes", Elementwise.self)]
        if ttm_cpu_supports_avx512() != 0 { builds.append(("AVX-512", Elementwise512.self)) }
        var g = Lcg(seed: 61)
        for t in cases {
            let (a, lda, b, ldb, c, ldc, bias) = operands(t, &g)
            let (keep, factor) = finishOperands(c.count, &g)
            for kind in StartKind.allCases {
                for finishing in FinishKind.allCases {
                    let want = expected(t, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, start: kind, bias: bias, finish: finishing,
                                        keep: keep, factor: factor)
                    for (name, kernels) in builds {
                        // C followed by a guard band that no product may write (the narrow kernel stores whole vectors).
                        let guardBand = [Float](repeating: -7.5, count: 32)
                        var got = c + guardBand
                        bias.withUnsafeBufferPointer { biasBuffer in
                            kernels.gemm(m: t.m, n: t.n, k: t.k, a: a, aRow: t.transA ? 1 : lda, aColumn: t.transA ? lda : 1,
                                         b: b, bRow: t.transB ? 1 : ldb, bColumn: t.transB ? ldb : 1, c: &got, ldc: ldc,
                                         start: start(kind, biasBuffer.baseAddress!), finish: finish(finishing, keep, factor))
                        }
                        let differing = zip(want, got).filter { $0.bitPattern != $1.bitPattern }.count
                        XCTAssertEqual(differing, 0, "\(name) \(t) \(kind) \(finishing): \(differing) elements differ (C's gap included)")
                        XCTAssertEqual(Array(got[c.count...]), guardBand, "\(name) \(t) \(kind) \(finishing): wrote past C's end")
                    }
                }
            }
        }
    }

    /// MatrixProduct on several GEMM threads (blocks of rows, or of columns when rows are few): the same bits as
    /// the contract, bias offsets included.
    func testThreadsGiveTheSameBits() {
        let saved = OpenBLAS.threadCount
        defer { OpenBLAS.threadCount = saved }
        var g = Lcg(seed: 62)
        let threaded = cases + [Case(m: 200, n: 130, k: 100, transA: false, transB: true, pad: 1),
                                Case(m: 10, n: 300, k: 800, transA: true, transB: false, pad: 0)]
        for t in threaded {
            let (a, lda, b, ldb, c, ldc, bias) = operands(t, &g)
            let (keep, factor) = finishOperands(c.count, &g)
            for kind in StartKind.allCases {
                for finishing in [FinishKind.none, .maskAndFactor] {
                    let want = expected(t, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, start: kind, bias: bias, finish: finishing,
                                        keep: keep, factor: factor)
                    for threads in [1, 2, 3] {
                        OpenBLAS.threadCount = threads
                        var got = c
                        bias.withUnsafeBufferPointer { biasBuffer in
                            MatrixProduct.multiply(t.transA ? .transposed : .none, t.transB ? .transposed : .none, m: t.m, n: t.n,
                                                   k: t.k, a: a, lda: lda, b: b, ldb: ldb, c: &got, ldc: ldc,
                                                   start: start(kind, biasBuffer.baseAddress!), finish: finish(finishing, keep, factor))
                        }
                        let differing = zip(want, got).filter { $0.bitPattern != $1.bitPattern }.count
                        XCTAssertEqual(differing, 0, "\(threads) thread(s) \(t) \(kind) \(finishing): \(differing) elements differ")
                    }
                }
            }
        }
    }
}
