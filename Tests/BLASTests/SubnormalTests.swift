@testable import BLAS
import XCTest

/// The engine flushes subnormals on its threads: products below float32's normal range become 0 there, and
/// only there (the flag is per thread and can be turned back off).
final class SubnormalTests: XCTestCase {
    func testFlushingTurnsSubnormalProductsIntoZero() {
        let tiny = Float.leastNormalMagnitude
        let half: Float = CommandLine.arguments.count > 10_000 ? 1 : 0.5  // not a constant the compiler could fold
        defer { Subnormals.flushToZero(false) }
        Subnormals.flushToZero(false)
        XCTAssertFalse(Subnormals.flushedToZero)
        XCTAssertGreaterThan(tiny * half, 0, "gradual underflow keeps a subnormal")
        Subnormals.flushToZero()
        XCTAssertTrue(Subnormals.flushedToZero)
        XCTAssertEqual(tiny * half, 0)
        // An input that is already subnormal reads as zero too (denormals-are-zero).
        let subnormal = Float(bitPattern: 0x0000_1000)
        XCTAssertEqual(subnormal * 1e30, 0)
        let sums = [Float](repeating: subnormal, count: 64).reduce(0, +)
        XCTAssertEqual(sums, 0)
    }
}
