import CPUFeatures
import Foundation
import Kernels
import KernelsAVX512
@testable import NN
import XCTest

/// The AVX-512 build of the elementwise loops against a narrower one (Kernels' eight-lane build, or this test
/// module's own baseline build where the optimiser inlines them): the same bits for every element, specials
/// included. On a CPU without AVX-512 the wide build cannot run; there the test checks that NN does not choose it.
final class ElementwiseLoopsTests: XCTestCase {
    /// The CPU's flags as the kernel reports them, to cross-check the CPUID reading.
    private var cpuFlags: Set<Substring> {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return [] }
        return Set(line.split(separator: " "))
    }

    func testTheAVX512ChoiceFollowsTheCPU() {
        let flags = cpuFlags
        XCTAssertFalse(flags.isEmpty, "no flags line in /proc/cpuinfo")
        let hasAVX512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy { flags.contains(Substring($0)) }
        XCTAssertEqual(ttm_cpu_supports_avx512() != 0, hasAVX512)
        let disabled = ProcessInfo.processInfo.environment["TTM_AVX512"] == "0"
        XCTAssertEqual(ElementwiseLoops.usesAVX512, hasAVX512 && !disabled)
    }

    func testTheAVX512BuildGivesTheSameBits() throws {
        guard ttm_cpu_supports_avx512() != 0 else {
            XCTAssertFalse(ElementwiseLoops.usesAVX512, "the AVX-512 loops chosen on a CPU without AVX-512")
            return
        }
        // A count that is no multiple of 16 or 8, so both builds run their remainder code too.
        var g = Lcg(seed: 51)
        var x = g.array(4_099, scale: 3)
        x[0...6] = [0, -0.0, 1e-30, -1e-30, 9, -9, 88]
        let a = g.array(x.count), b = g.array(x.count)
        let n = x.count
        func same(_ name: String, _ narrow: [Float], _ wide: [Float]) {
            let differing = zip(narrow, wide).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(differing, 0, "\(name): \(differing) of \(n) elements differ")
        }
        var y1 = [Float](repeating: 0, count: n), y2 = y1, d1 = y1, d2 = y1
        Elementwise.gelu(x, &y1, count: n)
        Elementwise512.gelu(x, &y2, count: n)
        same("gelu", y1, y2)
        Elementwise.gelu(x, &y1, derivative: &d1, count: n)
        Elementwise512.gelu(x, &y2, derivative: &d2, count: n)
        same("gelu value", y1, y2)
        same("gelu derivative", d1, d2)
        var dx1 = a, dx2 = a
        Elementwise.geluBackward(dy: b, x: x, dx: &dx1, count: n)
        Elementwise512.geluBackward(dy: b, x: x, dx: &dx2, count: n)
        same("gelu backward", dx1, dx2)
        Elementwise.multiply(a, b, into: &y1, count: n)
        Elementwise512.multiply(a, b, into: &y2, count: n)
        same("a ⊙ b", y1, y2)
        let keep = (0..<n).map { UInt8($0 % 5 == 0 ? 0 : 1) }
        Elementwise.multiply(a, keeping: keep, scale: 1.25, into: &y1, count: n)
        Elementwise512.multiply(a, keeping: keep, scale: 1.25, into: &y2, count: n)
        same("a ⊙ mask", y1, y2)
        XCTAssertEqual(y1[5], a[5] * 0)
        XCTAssertEqual(y1[6], a[6] * 1.25)
        Elementwise.multiply(a, keeping: keep, scale: 1.25, x, into: &y1, count: n)
        Elementwise512.multiply(a, keeping: keep, scale: 1.25, x, into: &y2, count: n)
        same("(a ⊙ mask) ⊙ c", y1, y2)
    }

    /// SmallGEMM with sixteen lanes (AVX-512) against eight: the same bits on every column (232 columns: three
    /// 64-column blocks, then a 32-column block, then an eight-column remainder for the wide build; seven
    /// 32-column blocks and the remainder for the narrow one), with an odd m, with the bias and accumulating,
    /// and with B past 64 rows (read in place, not copied).
    func testSmallGEMMGivesTheSameBitsInBothWidths() {
        guard ttm_cpu_supports_avx512() != 0 else {
            XCTAssertFalse(ElementwiseLoops.usesAVX512, "the AVX-512 loops chosen on a CPU without AVX-512")
            return
        }
        var g = Lcg(seed: 52)
        for (m, k) in [(16, 8), (7, 32), (3, 70)] {
            let columns = 64 * 3 + 40
            let a = g.array(m * k), b = g.array(k * columns), bias = g.array(m), start = g.array(m * columns)
            for accumulate in [false, true] {
                var narrow = start, wide = start
                Elementwise.smallGEMM(m: m, k: k, columns: columns, a: a, aRow: k, aColumn: 1, b: b, c: &narrow, bias: bias,
                                      accumulate: accumulate)
                Elementwise512.smallGEMM(m: m, k: k, columns: columns, a: a, aRow: k, aColumn: 1, b: b, c: &wide, bias: bias,
                                         accumulate: accumulate)
                for i in 0..<(m * columns) {
                    XCTAssertEqual(wide[i].bitPattern, narrow[i].bitPattern, "m \(m) k \(k) accumulate \(accumulate) element \(i)")
                }
            }
        }
    }

    /// Both builds' mask fills against the per-element rule (`maskDraw` ≥ threshold; y = x · scale or x · 0):
    /// from a later Philox group (`first`), as rows of a wider matrix whose lengths end inside a vector or
    /// hold whole sixteen-lane runs, with and without the data, and nothing written outside the rows.
    func testMaskFillsOfBothBuildsFollowTheDrawRule() {
        let stream = RandomStream(seed: 0x0123_4567_89AB, step: 6, site: 2)
        let threshold = RandomStream.maskThreshold(rate: 0.3), scale: Float = 1 / 0.7
        var builds: [(String, (MaskFill) -> Void)] = [("eight lanes", Elementwise.fillMask)]
        if ttm_cpu_supports_avx512() != 0 { builds.append(("AVX-512", Elementwise512.fillMask)) }
        else { XCTAssertFalse(ElementwiseLoops.usesAVX512, "the AVX-512 loops chosen on a CPU without AVX-512") }
        for (name, fill) in builds {
            for (first, count, rowLength, rowStride) in [(0, 300, 300, 0), (128, 200, 200, 0), (64, 7, 7, 0), (0, 250, 6, 9),
                                                          (192, 333, 32, 40), (64, 170, 17, 20)] {
                let rows = (count + rowLength - 1) / rowLength, size = (rows - 1) * rowStride + rowLength + 16
                var keep = [UInt8](repeating: 7, count: size), withData = keep
                let x = (0..<size).map { Float($0 % 11) - 5.5 }
                var y = [Float](repeating: 99, count: size)
                keep.withUnsafeMutableBufferPointer { keep in
                    fill(MaskFill(key: stream.key, sample: 5, step: stream.step, site: stream.site, first: first, count: count,
                                  rowLength: rowLength, rowStride: rowStride, threshold: threshold, scale: scale,
                                  keep: keep.baseAddress!, data: nil))
                }
                withData.withUnsafeMutableBufferPointer { keep in
                    y.withUnsafeMutableBufferPointer { y in
                        x.withUnsafeBufferPointer { x in
                            fill(MaskFill(key: stream.key, sample: 5, step: stream.step, site: stream.site, first: first, count: count,
                                          rowLength: rowLength, rowStride: rowStride, threshold: threshold, scale: scale,
                                          keep: keep.baseAddress!, data: (x.baseAddress!, y.baseAddress!)))
                        }
                    }
                }
                var written = Set<Int>()
                for e in 0..<count {
                    let at = e / rowLength * rowStride + e % rowLength
                    written.insert(at)
                    let kept = stream.maskDraw(sample: 5, element: first + e) >= threshold
                    XCTAssertEqual(keep[at], kept ? 1 : 0, "\(name) first \(first) row length \(rowLength) element \(e)")
                    XCTAssertEqual(withData[at], keep[at], "\(name) first \(first) row length \(rowLength) element \(e)")
                    XCTAssertEqual(y[at].bitPattern, (x[at] * (kept ? scale : 0)).bitPattern, "\(name) element \(e)")
                }
                for at in 0..<size where !written.contains(at) {
                    XCTAssertEqual(keep[at], 7, "\(name) row length \(rowLength): flag \(at) outside the rows written")
                    XCTAssertEqual(y[at], 99, "\(name) row length \(rowLength): value \(at) outside the rows written")
                }
            }
        }
    }

    /// The GELU with the dropout mask applied in its pass has the bits of the GELU followed by the mask, and
    /// the same derivative, in both builds.
    func testGELUWithMaskIsTheGELUThenTheMask() {
        var g = Lcg(seed: 53)
        var x = g.array(1_037, scale: 3)
        x[0...3] = [0, -0.0, 9, -9]
        let n = x.count, keep = (0..<n).map { UInt8($0 % 3 == 0 ? 0 : 1) }
        var separate = [Float](repeating: 0, count: n), separateDerivative = separate
        Elementwise.gelu(x, &separate, derivative: &separateDerivative, count: n)
        Elementwise.multiply(separate, keeping: keep, scale: 1.25, into: &separate, count: n)
        var builds: [(String, (UnsafePointer<Float>, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, UnsafePointer<UInt8>, Float, Int) -> Void)] =
            [("eight lanes", { Elementwise.gelu($0, $1, derivative: $2, keeping: $3, scale: $4, count: $5) })]
        if ttm_cpu_supports_avx512() != 0 {
            builds.append(("AVX-512", { Elementwise512.gelu($0, $1, derivative: $2, keeping: $3, scale: $4, count: $5) }))
        }
        for (name, fused) in builds {
            var y = [Float](repeating: 7, count: n), derivative = y
            fused(x, &y, &derivative, keep, 1.25, n)
            for i in 0..<n {
                XCTAssertEqual(y[i].bitPattern, separate[i].bitPattern, "\(name) value \(i)")
                XCTAssertEqual(derivative[i].bitPattern, separateDerivative[i].bitPattern, "\(name) derivative \(i)")
            }
            XCTAssertEqual(y[3], 0)
            XCTAssertNotEqual(y[4], 0)
        }
    }

    /// The products written over one of their inputs (the vectorised single-pointer loops) have the bits of the
    /// same products written elsewhere, for every input they may overwrite.
    func testMultipliesInPlaceGiveTheSameBits() {
        var g = Lcg(seed: 54)
        let n = 1_029, a = g.array(n, scale: 2), b = g.array(n, scale: 2)
        let keep = (0..<n).map { UInt8($0 % 4 == 1 ? 0 : 1) }
        func same(_ name: String, _ expected: [Float], _ got: [Float]) {
            XCTAssertEqual(zip(expected, got).filter { $0.bitPattern != $1.bitPattern }.count, 0, name)
        }
        var out = [Float](repeating: 0, count: n), inPlace = a
        Elementwise.multiply(a, b, into: &out, count: n)
        inPlace.withUnsafeMutableBufferPointer { Elementwise.multiply($0.baseAddress!, b, into: $0.baseAddress!, count: n) }
        same("a ⊙ b over a", out, inPlace)
        inPlace = b
        inPlace.withUnsafeMutableBufferPointer { Elementwise.multiply(a, $0.baseAddress!, into: $0.baseAddress!, count: n) }
        same("a ⊙ b over b", out, inPlace)
        Elementwise.multiply(a, keeping: keep, scale: 1.25, into: &out, count: n)
        inPlace = a
        inPlace.withUnsafeMutableBufferPointer { Elementwise.multiply($0.baseAddress!, keeping: keep, scale: 1.25, into: $0.baseAddress!, count: n) }
        same("a ⊙ mask over a", out, inPlace)
        Elementwise.multiply(a, keeping: keep, scale: 1.25, b, into: &out, count: n)
        inPlace = a
        inPlace.withUnsafeMutableBufferPointer { Elementwise.multiply($0.baseAddress!, keeping: keep, scale: 1.25, b, into: $0.baseAddress!, count: n) }
        same("(a ⊙ mask) ⊙ c over a", out, inPlace)
        inPlace = b
        inPlace.withUnsafeMutableBufferPointer { Elementwise.multiply(a, keeping: keep, scale: 1.25, $0.baseAddress!, into: $0.baseAddress!, count: n) }
        same("(a ⊙ mask) ⊙ c over c", out, inPlace)
    }
}
