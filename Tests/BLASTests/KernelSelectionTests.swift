import Foundation
import XCTest
@testable import BLAS

final class KernelSelectionTests: XCTestCase {
    let avx512: Set<String> = ["sse2", "avx2", "avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    func testAVX512CPUOnHaswellKernelsSwitches() {
        XCTAssertEqual(OpenBLAS.betterCoreType(environment: [:], cpuFlags: avx512, currentCore: "Haswell"), "SkylakeX")
        XCTAssertEqual(OpenBLAS.betterCoreType(environment: [:], cpuFlags: avx512.union(["avx512_bf16"]), currentCore: "Zen"),
                       "Cooperlake")
    }

    func testExplicitChoiceIsKept() {
        for value in ["Haswell", "SkylakeX", "Prescott"] {
            XCTAssertNil(OpenBLAS.betterCoreType(environment: ["OPENBLAS_CORETYPE": value], cpuFlags: avx512, currentCore: "Haswell"))
        }
    }

    func testNothingChangesWhenAlreadyRightOrCPUTooOld() {
        XCTAssertNil(OpenBLAS.betterCoreType(environment: [:], cpuFlags: avx512, currentCore: "SkylakeX"))
        XCTAssertNil(OpenBLAS.betterCoreType(environment: [:], cpuFlags: avx512, currentCore: "COOPERLAKE"))
        XCTAssertNil(OpenBLAS.betterCoreType(environment: [:], cpuFlags: ["avx2", "avx512f"], currentCore: "Haswell"))
    }

    func testCPUFlagsAreReadFromCpuinfo() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("cpuinfo-\(UUID().uuidString)").path
        try "processor\t: 0\nmodel name\t: Test CPU\nflags\t\t: fpu sse2 avx2 avx512f\n\nprocessor\t: 1\nflags\t: other\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(OpenBLAS.cpuFlags(cpuinfo: path), ["fpu", "sse2", "avx2", "avx512f"])
        XCTAssertEqual(OpenBLAS.cpuFlags(cpuinfo: path + "-missing"), [])
    }

    func testThreadCountCanBeSet() {
        let before = OpenBLAS.threadCount
        defer { OpenBLAS.threadCount = before }
        OpenBLAS.threadCount = 1
        XCTAssertEqual(OpenBLAS.threadCount, 1)
    }
}
