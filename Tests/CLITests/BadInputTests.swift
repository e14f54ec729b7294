import Checkpoint
import Foundation
import XCTest

/// Inputs and outputs a user gets wrong, through the real binary: each must end with exit status 1 (never a
/// signal or a Swift trap), a message naming the file, key or tensor, and nothing published or replaced.
final class BadInputTests: CLITestCase {
    private var granite: String { shared.appendingPathComponent("fixtures/granite-ttm/small/model").path }

    private func copyOfGranite(_ name: String, config edit: ((inout [String: Any]) -> Void)? = nil) throws -> String {
        let copy = folder.appendingPathComponent(name).path
        try FileManager.default.copyItem(atPath: granite, toPath: copy)
        if let edit {
            let url = URL(fileURLWithPath: copy + "/config.json")
            var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            edit(&json)
            try JSONSerialization.data(withJSONObject: json).write(to: url)
        }
        return copy
    }

    private func assertRefused(_ result: TTMProcess.Output, mentioning texts: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(result.status, 1, "exit status (a signal or trap is not 1): \(result.standardError)", file: file, line: line)
        for text in texts { XCTAssertTrue(result.standardError.contains(text), "expected '\(text)' in: \(result.standardError)", file: file, line: line) }
    }

    func testModelFoldersThatWouldHaveCrashedOrForecastNaN() throws {
        let zeroStride = try copyOfGranite("zero-stride") { $0["patch_stride"] = 0 }
        assertRefused(try TTMProcess.run(["inspect", zeroStride]), mentioning: ["zero-stride/config.json", "'patch_stride'"])
        let huge = try copyOfGranite("huge") { $0["d_model"] = 100_000_000 }
        assertRefused(try TTMProcess.run(["inspect", huge]), mentioning: ["huge/config.json", "'d_model'"])
        let other = try copyOfGranite("other") { $0["model_type"] = "patchtst" }
        assertRefused(try TTMProcess.run(["inspect", other]), mentioning: ["'model_type'"])

        // NaN in one tensor: refused by name at load, not forecast as NaN with exit 0.
        let poisoned = try copyOfGranite("nan")
        let weights = try SafeTensors.read(contentsOf: poisoned + "/model.safetensors")
        var entries = try weights.names.map { SafeTensors.Entry(name: $0, shape: weights[$0]!.shape, values: try weights.floats($0)) }
        entries[3].values[0] = .nan
        try SafeTensors.encode(entries).write(to: URL(fileURLWithPath: poisoned + "/model.safetensors"))
        let past = folder.appendingPathComponent("past.npy").path
        try NumPyArray(shape: [1, 64, 3], values: (0..<192).map { sin(Float($0) / 9) }).write(to: past)
        let output = folder.appendingPathComponent("pred.npy").path
        assertRefused(try TTMProcess.run(["forecast", "--checkpoint", poisoned, "--input", past, "--output", output]),
                      mentioning: ["nan/model.safetensors", "'\(entries[3].name)'", "NaN"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: output))
    }

    /// A gap in a forecast's CSV input: the message names file, line and column and an option forecast has.
    func testMissingValueInAForecastCSV() throws {
        var csv = "date,a,b,c\n"
        for t in 0..<70 { csv += t == 40 ? "\(t),1,,3\n" : "\(t),1,2,3\n" }
        let input = folder.appendingPathComponent("gap.csv").path
        try csv.write(toFile: input, atomically: true, encoding: .utf8)
        let output = folder.appendingPathComponent("out.csv").path
        assertRefused(try TTMProcess.run(["forecast", "--checkpoint", granite, "--input", input, "--output", output]),
                      mentioning: ["gap.csv: line 42, column 'b'", "--missing ffill"])
        let filled = try TTMProcess.run(["forecast", "--checkpoint", granite, "--input", input, "--output", output, "--missing", "ffill"])
        XCTAssertEqual(filled.status, 0, filled.standardError)
    }

    /// A channel-independent model forecasts any channel count (as PyTorch runs it); a mix_channel one is
    /// refused with the key named.
    func testForecastAdaptsAChannelIndependentModelToTheInput() throws {
        let past = folder.appendingPathComponent("one.npy").path
        try NumPyArray(shape: [2, 64, 1], values: (0..<128).map { sin(Float($0) / 5) }).write(to: past)
        let output = folder.appendingPathComponent("one-pred.npy").path
        let result = try TTMProcess.run(["forecast", "--checkpoint", granite, "--input", past, "--output", output])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertEqual(try NumPyArray.read(contentsOf: output).shape, [2, 16, 1])
        let mixing = shared.appendingPathComponent("fixtures/granite-ttm/small_mixchannel/model").path
        assertRefused(try TTMProcess.run(["forecast", "--checkpoint", mixing, "--input", past, "--output", folder.appendingPathComponent("m.npy").path]),
                      mentioning: ["mix_channel", "cannot forecast 1 channels"])
    }

    func testNpyWhoseShapeOverflows() throws {
        let path = folder.appendingPathComponent("overflow.npy").path
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904, 1), }"
        header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(Data(header.utf8))
        data.append(Data(count: 64))
        try data.write(to: URL(fileURLWithPath: path))
        assertRefused(try TTMProcess.run(["forecast", "--checkpoint", granite, "--input", path, "--output", folder.appendingPathComponent("p.npy").path]),
                      mentioning: ["overflow.npy", "holds more values"])
    }

    func testOutputsAreNotReplacedWithoutOverwriteAndNeverOverAnInput() throws {
        let past = folder.appendingPathComponent("past.npy").path
        try NumPyArray(shape: [2, 64, 3], values: (0..<384).map { cos(Float($0) / 7) }).write(to: past)
        let output = folder.appendingPathComponent("pred.npy").path
        try "keep me".write(toFile: output, atomically: true, encoding: .utf8)
        assertRefused(try TTMProcess.run(["forecast", "--checkpoint", granite, "--input", past, "--output", output]), mentioning: ["pred.npy", "--overwrite"])
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "keep me")
        assertRefused(try TTMProcess.run(["forecast", "--checkpoint", granite, "--input", past, "--output", past, "--overwrite"]),
                      mentioning: ["--output is also an input"])
        let replaced = try TTMProcess.run(["forecast", "--checkpoint", granite, "--input", past, "--output", output, "--overwrite"])
        XCTAssertEqual(replaced.status, 0, replaced.standardError)
        XCTAssertEqual(try NumPyArray.read(contentsOf: output).shape, [2, 16, 3])
        // Two series into a one-series CSV is a failure (it used to end through CleanExit, with status 0).
        assertRefused(try TTMProcess.run(["forecast", "--checkpoint", granite, "--input", past, "--output", folder.appendingPathComponent("two.csv").path]),
                      mentioning: ["two.csv: a .csv output holds one series"])
        // Into a folder that does not exist: refused before any work.
        assertRefused(try TTMProcess.run(["evaluate", "--checkpoint", granite, "--data", past, "--report", folder.appendingPathComponent("no/such/report.json").path]),
                      mentioning: ["no/such/report.json", "does not exist"])
        // /dev/null stays a device.
        let devnull = try TTMProcess.run(["forecast", "--checkpoint", granite, "--input", past, "--output", "/dev/null"])
        XCTAssertEqual(devnull.status, 0, devnull.standardError)
        var status = stat()
        XCTAssertEqual(stat("/dev/null", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFCHR, "/dev/null must stay a character device")
    }

    func testRunConfigsThatWouldHaveCrashedOrLostARun() throws {
        let data = folder.appendingPathComponent("etth1").path
        try prepareETTh1(into: data, context: 32)
        func config(_ name: String, model: String = "context_length: 32, prediction_length: 8, patch_length: 8, hidden_features: 8, blocks_per_level: 1, decoder_layers: 1",
                    batch: String = "8", metrics: String? = nil) throws -> String {
            let run = folder.appendingPathComponent(name).path
            let text = """
                model: {\(model)}
                data: {shards: [\(data)]}
                training: {global_batch_size: \(batch), learning_rate: 1.0e-3, steps: 4}
                checkpointing: {directory: \(run)/checkpoints, every: 2}
                logging: {metrics: \(metrics ?? run + "/metrics.jsonl")}

                """
            let path = folder.appendingPathComponent("\(name).yaml").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        assertRefused(try TTMProcess.run(["pretrain", "--config", try config("huge-batch", batch: "1000000000000")]), mentioning: ["'training.global_batch_size'", "GB"])
        assertRefused(try TTMProcess.run(["pretrain", "--config", try config("huge-model", model: "context_length: 32, prediction_length: 8, patch_length: 8, hidden_features: 100000000, blocks_per_level: 1, decoder_layers: 1")]),
                      mentioning: ["'model.hidden_features'"])  // the key as written

        // Metrics to /dev/null: the run works and the device stays a device.
        let quiet = try TTMProcess.run(["pretrain", "--config", try config("quiet", metrics: "/dev/null")])
        XCTAssertEqual(quiet.status, 0, quiet.standardError)
        var status = stat()
        XCTAssertEqual(stat("/dev/null", &status), 0)
        XCTAssertEqual(status.st_mode & S_IFMT, S_IFCHR)

        // A second run into the same checkpoint folder without --resume is refused and changes nothing.
        let first = try config("twice")
        XCTAssertEqual(try TTMProcess.run(["pretrain", "--config", first]).status, 0)
        let final = folder.appendingPathComponent("twice/checkpoints/final/model.safetensors").path
        let before = try Data(contentsOf: URL(fileURLWithPath: final))
        assertRefused(try TTMProcess.run(["pretrain", "--config", first]), mentioning: ["twice/checkpoints", "--resume"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: final)), before)
    }
}
