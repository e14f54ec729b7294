import Foundation
import XCTest

/// Runs the built `ttm` executable (it sits next to the test bundle) and captures what it prints.
/// This process's environment without what MPI's own initialisation put there: the MPI tests run as an MPI
/// singleton in this same process, and a child that inherited those variables would take itself for a rank of
/// that singleton job.
func cleanEnvironment() -> [String: String] {
    ProcessInfo.processInfo.environment.filter { key, _ in
        !(["OMPI_", "PMIX_", "OPAL_", "ORTE_"].contains { key.hasPrefix($0) }) || key.hasPrefix("OMPI_ALLOW_RUN_AS_ROOT")
    }
}

struct TTMProcess {
    struct Output {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    struct Missing: Error, CustomStringConvertible {
        let path: String
        var description: String { "no ttm executable at \(path); build the package before running the tests" }
    }

    static var executable: URL {
        get throws {
            let tests = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
            let url = URL(fileURLWithPath: tests).deletingLastPathComponent().appendingPathComponent("ttm")
            guard FileManager.default.isExecutableFile(atPath: url.path) else {
                throw Missing(path: url.path)
            }
            return url
        }
    }

    /// Runs `ttm arguments`, with `environment` changes applied to this process's environment
    /// (a nil value removes the variable).
    static func run(_ arguments: [String], environment changes: [String: String?] = [:]) throws -> Output {
        let process = Process()
        process.executableURL = try executable
        process.arguments = arguments
        var environment = cleanEnvironment()
        for (key, value) in changes { environment[key] = value }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      standardOutput: String(decoding: outData, as: UTF8.self),
                      standardError: String(decoding: errData, as: UTF8.self))
    }
}

/// A test case with a fresh temporary `folder` (removed afterwards) and the `shared` folder beside the checkout.
class CLITestCase: XCTestCase {
    var folder: URL!

    /// The checkout this test file is in.
    var repository: URL { URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent() }

    var shared: URL {
        if let path = ProcessInfo.processInfo.environment["TTM_SHARED_DIR"] { return URL(fileURLWithPath: path) }
        return repository.deletingLastPathComponent().appendingPathComponent("shared")
    }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-\(type(of: self))-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// ETTh1 from ../shared prepared with the standard split, validation and test starting `context` rows early.
    func prepareETTh1(into output: String, context: Int) throws {
        let ett = shared.appendingPathComponent("datasets/ETT-small/ETTh1.csv").path
        let prepared = try TTMProcess.run(["prepare", "--input", ett, "--output", output, "--split", "ett-hourly", "--context", "\(context)"])
        XCTAssertEqual(prepared.status, 0, prepared.standardError)
    }

    /// `ttm forecast` of ETTh1.csv from `../shared` with `checkpoint`: checks the header and that the first step is
    /// the hour after ETTh1's last row, and returns the data lines (one per forecast step).
    func forecastETTh1(_ checkpoint: String, file: StaticString = #filePath, line: UInt = #line) throws -> [Substring] {
        let ett = shared.appendingPathComponent("datasets/ETT-small/ETTh1.csv").path
        let prediction = folder.appendingPathComponent("forecast.csv").path
        let forecast = try TTMProcess.run(["forecast", "--checkpoint", checkpoint, "--input", ett, "--output", prediction])
        XCTAssertEqual(forecast.status, 0, forecast.standardError, file: file, line: line)
        let lines = try String(contentsOfFile: prediction, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first, "step,date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT", file: file, line: line)
        XCTAssertTrue(lines.dropFirst().first?.hasPrefix("1,2018-06-26 20:00:00,") == true,
                      "the hour after ETTh1's last row: \(lines.dropFirst().first ?? "nothing")", file: file, line: line)
        return Array(lines.dropFirst())
    }

    /// The `loss` of every step in the metrics.jsonl of run `name` (the folder below `folder`).
    func losses(_ name: String) throws -> [Double] {
        let text = try String(contentsOfFile: folder.appendingPathComponent("\(name)/metrics.jsonl").path, encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])?["loss"] as? Double
        }
    }

    /// Runs `interrupted` (a config whose checkpoints go to `<name>/checkpoints` below `folder`) on 2 ranks, kills
    /// rank 1 with -9 once the step-8 checkpoint exists, checks the job failed (`afterKill` may look at the
    /// checkpoint folder then), resumes it, and checks that its final weights equal those of the finished run
    /// `whole` bit for bit.
    func assertKilledAndResumedRunMatches(_ interrupted: String, name: String, whole: String,
                                          afterKill: (String) throws -> Void = { _ in },
                                          file: StaticString = #filePath, line: UInt = #line) throws {
        let checkpoints = folder.appendingPathComponent("\(name)/checkpoints").path
        let killed = try MPIRun.run(ranks: 2, ["pretrain", "--config", interrupted], killRank: 1, when: {
            (try? FileManager.default.contentsOfDirectory(atPath: checkpoints).contains("step-00000008")) == true
        })
        XCTAssertNotEqual(killed.status, 0, "a job with a killed rank must fail", file: file, line: line)
        try afterKill(checkpoints)
        let resumed = try MPIRun.run(ranks: 2, ["pretrain", "--config", interrupted, "--resume"])
        XCTAssertEqual(resumed.status, 0, resumed.standardError, file: file, line: line)
        XCTAssertTrue(resumed.standardOutput.contains("resume: continuing from"), resumed.standardOutput, file: file, line: line)
        let a = try XCTUnwrap(FileManager.default.contents(atPath: folder.appendingPathComponent("\(whole)/checkpoints/final/model.safetensors").path))
        let b = try XCTUnwrap(FileManager.default.contents(atPath: checkpoints + "/final/model.safetensors"))
        XCTAssertEqual(a, b, "resumed final weights differ from the uninterrupted run", file: file, line: line)
    }

    /// Pretrains the config that `config(name)` writes on 1, 2 and 4 ranks and checks that every step's loss
    /// agrees within 1e-4 relative and that the loss falls.
    func assertSameRunOnOneTwoAndFourRanks(steps: Int, config: (String) throws -> String,
                                           file: StaticString = #filePath, line: UInt = #line) throws {
        var runs: [Int: [Double]] = [:]
        for ranks in [1, 2, 4] {
            let result = try MPIRun.run(ranks: ranks, ["pretrain", "--config", try config("ranks\(ranks)")])
            XCTAssertEqual(result.status, 0, result.standardError, file: file, line: line)
            runs[ranks] = try losses("ranks\(ranks)")
            XCTAssertEqual(runs[ranks]?.count, steps, file: file, line: line)
        }
        for ranks in [2, 4] {
            let worst = zip(runs[1]!, runs[ranks]!).map { abs($0 - $1) / abs($0) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-4, "\(ranks) ranks", file: file, line: line)
        }
        let quarter = steps / 4
        XCTAssertLessThan(runs[1]!.suffix(quarter).reduce(0, +), runs[1]!.prefix(quarter).reduce(0, +), "the loss falls", file: file, line: line)
    }
}
