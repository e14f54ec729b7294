import Foundation
import XCTest

final class PrepareCommandTests: CLITestCase {
    func testPreparesAndReports() throws {
        let csv = folder.appendingPathComponent("w.csv").path
        try ("date,a,b\n" + (0..<100).map { "\($0),\($0),\(2 * $0)" }.joined(separator: "\n") + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("shards").path
        let result = try TTMProcess.run(["prepare", "--input", csv, "--output", out, "--split", "rows:60,80,100", "--context", "10", "--horizon", "5"])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("1 series, 100 rows, 2 channels (a, b) -> 1 shard(s)"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("std (population)"), result.standardOutput)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/part-00000.h5"))
    }

    /// `--images` on an IDX file (images without labels): the split counts are reported; CSV options and a
    /// missing source are refused before anything is written.
    func testPreparesImagesAndRefusesCSVOptionsWithThem() throws {
        let idx = folder.appendingPathComponent("images-idx3-ubyte").path
        try Data([0, 0, 8, 3, 0, 0, 0, 24, 0, 0, 0, 3, 0, 0, 0, 3] + (0..<216).map { UInt8($0) }).write(to: URL(fileURLWithPath: idx))
        let out = folder.appendingPathComponent("images").path
        let result = try TTMProcess.run(["prepare", "--images", idx, "--output", out, "--validation-count", "4"])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("20 train, 4 validation, 0 test images of 3x3x1, no labels"), result.standardOutput)
        for (arguments, message) in [(["--images", idx, "--context", "5"], "--context applies to a CSV"),
                                     (["--images", idx, "--input", idx], "exactly one of --input"),
                                     (["--images", folder.appendingPathComponent("none").path], "none: no such file or folder")] {
            let refused = try TTMProcess.run(["prepare", "--output", folder.appendingPathComponent("x").path] + arguments)
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.standardError.contains(message), refused.standardError)
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("x").path))
        }
    }

    func testFailuresExitNonZeroNameTheProblemAndLeaveNothing() throws {
        let short = folder.appendingPathComponent("short.csv").path
        try "date,a\n1,1\n2,2\n3,3\n".write(toFile: short, atomically: true, encoding: .utf8)
        let bad = folder.appendingPathComponent("bad.csv").path
        try "date,a\n1,1\n2,oops\n".write(toFile: bad, atomically: true, encoding: .utf8)
        var long = "date,a\n"
        for t in 0..<150 { long += "\(t),\(t % 9)\n" }
        try long.write(toFile: folder.appendingPathComponent("long.csv").path, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("out").path
        let cases: [([String], String)] = [
            (["--input", short, "--output", out, "--horizon", "4"], "all 1 series are too short for one training window of 4 rows"),
            (["--input", bad, "--output", out], "bad.csv: line 3, column 'a': 'oops' is not a finite number"),
            (["--input", short, "--output", out, "--split", "thirds"], "--split 'thirds'"),
            (["--input", short, "--output", out, "--missing", "guess"], "The value 'guess' is invalid for '--missing <missing>'. Please provide one of 'error', 'ffill' or 'drop'"),
            (["--input", short, "--output", out, "--target-columns", "zz"], "no column 'zz'"),
            (["--input", bad.replacingOccurrences(of: "bad.csv", with: "long.csv"), "--output", out, "--split", "rows:100,200,300"],
             "--split rows:100,200,300 leaves the test split empty in every series (the longest has 150 rows)"),
        ]
        for (arguments, message) in cases {
            let result = try TTMProcess.run(["prepare"] + arguments)
            XCTAssertNotEqual(result.status, 0, message)
            XCTAssertTrue(result.standardError.contains(message), "expected '\(message)' in: \(result.standardError)")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasSuffix(".csv") }
        XCTAssertEqual(left, [])
    }

    /// A prepare stopped by SIGTERM while it writes leaves neither the output nor a hidden `.NAME.partial-PID`
    /// folder, and a later run sweeps such a folder left by a process that no longer exists.
    func testInterruptedPrepareLeavesNothingAndStaleFoldersAreSwept() throws {
        var csv = "t,a,b\n"
        csv.reserveCapacity(150_000 * 24)
        for i in 0..<150_000 { csv += "\(i),\(Double(i % 97) * 0.5),\(Double(i % 13))\n" }
        let input = folder.appendingPathComponent("long.csv").path
        try csv.write(toFile: input, atomically: true, encoding: .utf8)
        let output = folder.appendingPathComponent("out").path

        let process = Process()
        process.executableURL = try TTMProcess.executable
        process.arguments = ["prepare", "--input", input, "--output", output]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let partial = { (try? FileManager.default.contentsOfDirectory(atPath: self.folder.path))?.contains { $0.hasPrefix(".out.partial-") } ?? false }
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning && !partial() && Date() < deadline { usleep(5_000) }
        XCTAssertTrue(process.isRunning && partial(), "prepare ended before it was seen writing; the test input is too small")
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 128 + SIGTERM)
        let left = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0 != "long.csv" }
        XCTAssertEqual(left, [], "nothing published, nothing hidden left")

        // A stale folder from a process that no longer runs is swept by the next run into the same output.
        var stalePID: Int32 = 4_000_000
        while kill(stalePID, 0) == 0 || errno != ESRCH { stalePID -= 1 }
        let stale = folder.appendingPathComponent(".out.partial-\(stalePID)").path
        try FileManager.default.createDirectory(atPath: stale, withIntermediateDirectories: true)
        let small = folder.appendingPathComponent("small.csv").path
        try "t,a\n" .appending((0..<50).map { "\($0),\($0)" }.joined(separator: "\n") + "\n").write(toFile: small, atomically: true, encoding: .utf8)
        let result = try TTMProcess.run(["prepare", "--input", small, "--output", output])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "stale partial folder swept")
    }
}
