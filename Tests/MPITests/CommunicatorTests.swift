import Foundation
import XCTest
import MPI

/// Written for any number of ranks: `swift test` runs them as a singleton (size 1), launch/test.sh runs the
/// same tests under `mpirun -np 2` and `-np 4`. Every rank runs every test, in the same order.
final class CommunicatorTests: XCTestCase {
    var world: Communicator!

    override func setUpWithError() throws {
        world = try Communicator.world()
    }

    func testSizeMatchesLauncher() throws {
        let expected = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"].flatMap(Int.init) ?? 1
        XCTAssertEqual(world.size, expected)
        XCTAssertTrue((0..<world.size).contains(world.rank))
        XCTAssertEqual(try world.allreduce(Int32(1), op: .sum), Int32(world.size))
        XCTAssertEqual(try world.allreduce(Int64(world.rank), op: .max), Int64(world.size - 1))
        XCTAssertEqual(try world.allreduce(Double(world.rank), op: .min), 0)
        try world.barrier()
    }

    /// Integers below 2^24 are exact in Float, so the sum must match to the bit whatever the reduction order.
    func testAllreduceOfTenMillionFloatsIsExact() throws {
        let count = 10_000_000
        let n = world.size
        let factor = Float(world.rank + 1)
        let input = (0..<count).map { Float($0 % 65_536) * factor }
        let expectedFactor = Float(n * (n + 1) / 2)

        var output = [Float](repeating: -1, count: count)
        try input.withUnsafeBufferPointer { inp in
            try output.withUnsafeMutableBufferPointer { out in try world.allreduce(inp, into: out, op: .sum) }
        }
        var inPlace = input
        try world.allreduce(&inPlace, op: .sum)

        var wrong = 0
        for i in 0..<count {
            let expected = Float(i % 65_536) * expectedFactor
            if output[i] != expected || inPlace[i] != expected { wrong += 1 }
        }
        XCTAssertEqual(wrong, 0, "\(wrong) of \(count) elements differ on rank \(world.rank) of \(n)")
    }

    func testAllreduceMaxOverTypes() throws {
        var doubles = [Double(world.rank), -Double(world.rank)]
        try world.allreduce(&doubles, op: .max)
        XCTAssertEqual(doubles, [Double(world.size - 1), 0])
        var ints32: [Int32] = [Int32(world.rank * 3)]
        try world.allreduce(&ints32, op: .sum)
        XCTAssertEqual(ints32, [Int32(3 * world.size * (world.size - 1) / 2)])
        var ints64: [Int64] = [Int64(1) << 40 + Int64(world.rank)]
        try world.allreduce(&ints64, op: .max)
        XCTAssertEqual(ints64, [Int64(1) << 40 + Int64(world.size - 1)])
    }

    func testBroadcastFromTheLastRank() throws {
        let root = world.size - 1
        var values = (0..<1000).map { Double($0) + 1000 * Double(world.rank) }
        try values.withUnsafeMutableBufferPointer { try world.broadcast($0, root: root) }
        XCTAssertEqual(values, (0..<1000).map { Double($0) + 1000 * Double(root) })

        // The array form resizes receivers to the root's length.
        var text = Array("from rank \(world.rank)".utf8)
        if world.rank != root { text += Array(repeating: UInt8(ascii: "x"), count: 7) }
        try world.broadcast(&text, root: root)
        XCTAssertEqual(String(decoding: text, as: UTF8.self), "from rank \(root)")
    }

    func testNonBlockingAllreduceCompletesOnWait() throws {
        let count = 1_000_003
        var buffer = (0..<count).map { Float($0 % 1000 + world.rank) }
        var localWork: Float = 0
        try buffer.withUnsafeMutableBufferPointer { pointer in
            let request = try world.startAllreduce(inPlace: pointer, op: .sum)
            for i in 0..<100_000 { localWork += Float(i & 7) }  // work overlapped with communication
            try request.wait()
            XCTAssertTrue(try request.test(), "a waited request reports completion")
        }
        let offset = Float(world.size * (world.size - 1) / 2)
        let wrong = (0..<count).filter { buffer[$0] != Float($0 % 1000) * Float(world.size) + offset }.count
        XCTAssertEqual(wrong, 0)
        XCTAssertEqual(localWork, 350_000)
    }

    /// MPI runs with MPI_ERRORS_RETURN: a bad call throws with MPI's own message instead of aborting.
    func testErrorsAreThrownWithMPIsMessage() throws {
        var values: [Float] = [1, 2, 3]
        XCTAssertThrowsError(try values.withUnsafeMutableBufferPointer { try world.broadcast($0, root: world.size + 3) }) { error in
            guard let mpiError = error as? MPIError else { return XCTFail("not an MPIError: \(error)") }
            XCTAssertEqual(mpiError.function, "MPI_Bcast")
            XCTAssertTrue(mpiError.message.lowercased().contains("root"), mpiError.description)
        }
        // The communicator still works afterwards.
        XCTAssertEqual(try world.allreduce(Int32(2), op: .sum), Int32(2 * world.size))
    }
}
