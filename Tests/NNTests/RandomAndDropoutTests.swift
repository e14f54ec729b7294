import Kernels
@testable import NN
import XCTest

final class RandomAndDropoutTests: XCTestCase {
    /// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
    func testPhiloxKnownAnswers() {
        XCTAssertEqual(Philox.block(counter: .zero, key: .zero), SIMD4(0x6627_E8D5, 0xE169_C58D, 0xBC57_AC4C, 0x9B00_DBD8))
        XCTAssertEqual(Philox.block(counter: SIMD4(repeating: 0xFFFF_FFFF), key: SIMD2(repeating: 0xFFFF_FFFF)),
                       SIMD4(0x408F_276D, 0x41C8_3B0E, 0xA20B_C7C6, 0x6D54_51FD))
        XCTAssertEqual(Philox.block(counter: SIMD4(0x243F_6A88, 0x85A3_08D3, 0x1319_8A2E, 0x0370_7344),
                                    key: SIMD2(0xA409_3822, 0x299F_31D0)),
                       SIMD4(0xD16C_FE09, 0x94FD_CCEB, 0x5001_E420, 0x2412_6EA1))
    }

    /// The eight-lane generator (the masks' fast path) equals eight single blocks, with counters and keys whose
    /// high bits are set (the lane multiplication's hardest case) and a counter that wraps.
    func testEightLanesEqualEightBlocks() {
        for (x, key) in [(UInt32(0xFFFF_FFFA), SIMD2<UInt32>(repeating: 0xFFFF_FFFF)), (0x8000_0000, SIMD2(0x1234_5678, 0x9ABC_DEF0)), (7, .zero)] {
            let (a, b, c, d) = Philox.eightBlocks(x: x, y: 0xFEDC_BA98, z: 0xFFFF_FFFF, w: 3, key: key)
            for lane in 0..<8 {
                let expected = Philox.block(counter: SIMD4(x &+ UInt32(lane), 0xFEDC_BA98, 0xFFFF_FFFF, 3), key: key)
                XCTAssertEqual(SIMD4(a[lane], b[lane], c[lane], d[lane]), expected, "lane \(lane)")
            }
        }
    }

    func testUniformsAreInRangeAndFillMatchesSingleDraws() {
        let stream = RandomStream(seed: 0xDEAD_BEEF_1234, step: 9, site: 4)
        let out = FloatBuffer(capacity: 37)
        stream.fillUniform(sample: 12, count: 37, into: out.pointer)
        for e in 0..<37 {
            XCTAssertEqual(out.pointer[e], stream.uniform(sample: 12, element: e))
            XCTAssertTrue((0..<1).contains(out.pointer[e]))
        }
    }

    /// The vectorised mask is the per-element rule "draw ≥ threshold", for whole groups of 64, a partial last
    /// group and lengths below one vector, at rates whose threshold is and is not exact.
    func testMaskIsThePerElementDrawRule() {
        let stream = RandomStream(seed: 77, step: 3, site: 5)
        for rate: Float in [0.1, 0.2, 0.5, 0.9, 1.0 / 3] {
            let threshold = RandomStream.maskThreshold(rate: rate)
            XCTAssertEqual(Double(threshold) / 65_536, Double(rate), accuracy: 1.0 / 65_536)
            for count in [1, 7, 64, 101, 200] {
                var keep = [UInt8](repeating: 7, count: count + 8)
                let x = (0..<count).map { Float($0) - 3.5 }
                var y = [Float](repeating: 0, count: count)
                x.withUnsafeBufferPointer { x in
                    y.withUnsafeMutableBufferPointer { y in
                        stream.fillMask(sample: 9, count: count, threshold: threshold, scale: 1 / (1 - rate), into: &keep,
                                        applyingTo: (x.baseAddress!, y.baseAddress!))
                    }
                }
                for e in 0..<count {
                    let kept = stream.maskDraw(sample: 9, element: e) >= threshold
                    XCTAssertEqual(keep[e], kept ? 1 : 0, "rate \(rate), count \(count), element \(e)")
                    XCTAssertEqual(y[e], x[e] * (kept ? 1 / (1 - rate) : 0), "rate \(rate), count \(count), element \(e)")
                }
                XCTAssertEqual(keep[count], 7, "nothing written past the end")
            }
        }
    }

    /// The draws are the two halves of the Philox words: element 64g + 16w + 8h + j is half h of word w of block 8g + j.
    func testMaskDrawsAreHalvesOfPhiloxWords() {
        let stream = RandomStream(seed: 0x1234_5678_9ABC, step: 11, site: 6)
        let block = Philox.block(counter: SIMD4(8 + 3, 4, 11, 6), key: SIMD2(0x5678_9ABC, 0x1234))
        for word in 0..<4 {
            XCTAssertEqual(stream.maskDraw(sample: 4, element: 64 + 16 * word + 3), block[word] & 0xFFFF)
            XCTAssertEqual(stream.maskDraw(sample: 4, element: 64 + 16 * word + 8 + 3), block[word] >> 16)
        }
    }

    private func trainingMask(rate: Float, seed: UInt64, step: Int, samples: Range<Int>, perSample: Int) -> [Float] {
        let dropout = Dropout(rate: rate, site: 2)
        let count = samples.count * perSample
        let x = FloatBuffer(capacity: count), y = FloatBuffer(capacity: count), mask = DropoutMask()
        x.pointer.update(repeating: 1, count: count)
        dropout.forward(x.pointer, y.pointer, mask: mask, samples: samples.count, perSample: perSample,
                        context: .init(seed: seed, step: step, firstSample: samples.lowerBound))
        return y.array(count)
    }

    func testInferenceIsTheIdentity() {
        let dropout = Dropout(rate: 0.5, site: 1)
        var g = Lcg(seed: 3)
        let input = g.array(64)
        let y = FloatBuffer(capacity: 64), mask = DropoutMask()
        input.withUnsafeBufferPointer { dropout.forward($0.baseAddress!, y.pointer, mask: mask, samples: 4, perSample: 16, context: nil) }
        XCTAssertEqual(y.array(64), input)
    }

    func testSameSeedAndStepReproduceAnotherStepDiffers() {
        let a = trainingMask(rate: 0.3, seed: 7, step: 5, samples: 0..<8, perSample: 50)
        let b = trainingMask(rate: 0.3, seed: 7, step: 5, samples: 0..<8, perSample: 50)
        let c = trainingMask(rate: 0.3, seed: 7, step: 6, samples: 0..<8, perSample: 50)
        let d = trainingMask(rate: 0.3, seed: 8, step: 5, samples: 0..<8, perSample: 50)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a, c)
        XCTAssertNotEqual(a, d)
        XCTAssertTrue(a.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 }, "kept elements are scaled by 1/(1 - rate)")
    }

    /// The mask of a sample depends on its global index only: a batch split in two gives the same masks.
    func testMaskDoesNotDependOnHowTheBatchIsSplit() {
        let whole = trainingMask(rate: 0.5, seed: 1, step: 2, samples: 0..<6, perSample: 20)
        let first = trainingMask(rate: 0.5, seed: 1, step: 2, samples: 0..<2, perSample: 20)
        let second = trainingMask(rate: 0.5, seed: 1, step: 2, samples: 2..<6, perSample: 20)
        XCTAssertEqual(whole, first + second)
    }

    /// Kept fraction within 3 standard errors of 1 - rate on a million elements.
    func testKeptFractionMatchesTheRate() {
        for rate: Float in [0.1, 0.5, 0.9] {
            let samples = 1000, perSample = 1000
            let y = trainingMask(rate: rate, seed: 42, step: 1, samples: 0..<samples, perSample: perSample)
            let n = Double(samples * perSample)
            let kept = Double(y.filter { $0 != 0 }.count) / n
            let p = Double(1 - rate)
            let standardError = (p * (1 - p) / n).squareRoot()
            XCTAssertLessThanOrEqual(abs(kept - p), 3 * standardError, "rate \(rate): kept \(kept)")
        }
    }
}
