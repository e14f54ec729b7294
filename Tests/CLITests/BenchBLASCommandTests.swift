import BLAS
import XCTest

final class BenchBLASCommandTests: XCTestCase {
    private var cpuHasAVX512: Bool { OpenBLAS.supportsAVX512Kernels(cpuFlags: OpenBLAS.cpuFlags()) }

    private func kernelsLine(_ output: TTMProcess.Output) -> String {
        output.standardOutput.split(separator: "\n").first { $0.hasPrefix("kernels:") }.map(String.init) ?? ""
    }

    func testPrintsFiguresForTheThreeShapes() throws {
        let output = try TTMProcess.run(["bench", "blas", "--seconds", "0.01"])
        XCTAssertEqual(output.status, 0, output.standardError)
        for shape in ["512x512x512", "2048x2048x2048", "3584x384x192"] {
            let line = output.standardOutput.split(separator: "\n").first { $0.hasPrefix(shape) }
            // sgemm best and median, then the engine GEMM's best and median.
            let rates = line.map { $0.split(separator: " ").dropFirst().compactMap { Double($0) } } ?? []
            XCTAssertEqual(rates.count, 4, "no four GFLOP/s figures for \(shape) in:\n\(output.standardOutput)")
            for rate in rates { XCTAssertGreaterThan(rate, 1, "implausible GEMM rate for \(shape): \(line ?? "")") }
        }
        XCTAssertTrue(output.standardOutput.contains("threads:  1"), output.standardOutput)
    }

    /// Without OPENBLAS_CORETYPE the binary must end up on AVX-512 kernels on a CPU that has them,
    /// whether OpenBLAS found them itself or ttm re-executed itself to select them.
    func testUsesAVX512KernelsWhenNothingIsSet() throws {
        let output = try TTMProcess.run(["bench", "blas", "--seconds", "0.01"],
                                        environment: ["OPENBLAS_CORETYPE": nil, "TTM_AUTOMATIC_OPENBLAS_CORETYPE": nil])
        XCTAssertEqual(output.status, 0, output.standardError)
        let line = kernelsLine(output)
        let core = line.split(separator: " ").dropFirst().first.map(String.init) ?? ""
        if cpuHasAVX512 {
            XCTAssertTrue(OpenBLAS.isAVX512Core(core), "expected AVX-512 kernels, got: \(line)")
        } else {
            XCTAssertFalse(core.isEmpty, line)
        }
        XCTAssertFalse(output.standardError.contains("half speed"), output.standardError)
    }

    func testKeepsTheUsersExplicitChoiceAndSaysWhatItCosts() throws {
        let output = try TTMProcess.run(["bench", "blas", "--seconds", "0.01"],
                                        environment: ["OPENBLAS_CORETYPE": "Haswell", "TTM_AUTOMATIC_OPENBLAS_CORETYPE": nil])
        XCTAssertEqual(output.status, 0, output.standardError)
        XCTAssertTrue(kernelsLine(output).hasPrefix("kernels:  Haswell (set by OPENBLAS_CORETYPE"), kernelsLine(output))
        if cpuHasAVX512 {
            XCTAssertTrue(output.standardError.contains("OPENBLAS_CORETYPE=Haswell"), output.standardError)
        }
    }

    func testRejectsInvalidThreadCount() throws {
        let output = try TTMProcess.run(["bench", "blas", "--threads", "0"])
        XCTAssertNotEqual(output.status, 0)
        XCTAssertTrue(output.standardError.contains("--threads must be at least 1"), output.standardError)
    }
}
