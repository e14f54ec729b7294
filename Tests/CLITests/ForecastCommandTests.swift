import Checkpoint
import Foundation
import XCTest

final class ForecastCommandTests: CLITestCase {
    /// `ttm forecast` on each fixture's past_values.npy reproduces IBM's predictions within 1e-5.
    func testForecastMatchesTheReferenceForEveryFixture() throws {
        for fixture in ["small", "small_apl2", "small_mixchannel"] {
            let root = shared.appendingPathComponent("fixtures/granite-ttm/\(fixture)")
            let out = folder.appendingPathComponent("\(fixture).npy").path
            let result = try TTMProcess.run(["forecast", "--checkpoint", root.appendingPathComponent("model").path,
                                             "--input", root.appendingPathComponent("past_values.npy").path, "--output", out])
            XCTAssertEqual(result.status, 0, result.standardError)
            let predicted = try NumPyArray.read(contentsOf: out)
            let expected = try NumPyArray.read(contentsOf: root.appendingPathComponent("prediction_outputs.npy").path)
            XCTAssertEqual(predicted.shape, [4, 16, 3])
            XCTAssertEqual(predicted.shape, expected.shape)
            let worst = zip(predicted.values, expected.values).map { abs($0 - $1) }.max()!
            XCTAssertLessThanOrEqual(worst, 1e-5, fixture)
        }
    }

    func testForecastFromACSVSeries() throws {
        let root = shared.appendingPathComponent("fixtures/granite-ttm/small")
        let past = try NumPyArray.read(contentsOf: root.appendingPathComponent("past_values.npy").path)
        // Series 2 of the fixture as a CSV with a timestamp column and 5 extra older rows.
        var csv = "date,a,b,c\n"
        for row in 0..<5 { csv += "2020-01-01 0\(row):00,9,9,9\n" }
        for t in 0..<64 {
            let v = (0..<3).map { String(past.values[(2 * 64 + t) * 3 + $0]) }
            let hour = 5 + t
            csv += String(format: "2020-01-%02d %02d:00", 1 + hour / 24, hour % 24) + ",\(v.joined(separator: ","))\n"
        }
        let input = folder.appendingPathComponent("series.csv").path
        try csv.write(toFile: input, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("forecast.csv").path
        let result = try TTMProcess.run(["forecast", "--checkpoint", root.appendingPathComponent("model").path, "--input", input, "--output", out])
        XCTAssertEqual(result.status, 0, result.standardError)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        // Each step is stamped with the input's frequency (hourly), after its last row (2020-01-03 20:00).
        XCTAssertEqual(lines.first, "step,date,a,b,c")
        XCTAssertEqual(lines.count, 17)
        XCTAssertTrue(lines[1].hasPrefix("1,2020-01-03 21:00,"), String(lines[1]))
        XCTAssertTrue(lines[16].hasPrefix("16,2020-01-04 12:00,"), String(lines[16]))
        let expected = try NumPyArray.read(contentsOf: root.appendingPathComponent("prediction_outputs.npy").path)
        let firstStep = lines[1].split(separator: ",").dropFirst(2).map { Float($0)! }
        for channel in 0..<3 { XCTAssertEqual(firstStep[channel], expected.values[2 * 48 + channel], accuracy: 1e-5) }
    }

    func testBadInputsFailWithAClearMessage() throws {
        let model = shared.appendingPathComponent("fixtures/granite-ttm/small/model").path
        let wrongShape = folder.appendingPathComponent("wrong.npy").path
        try NumPyArray(shape: [2, 10, 3], values: [Float](repeating: 1, count: 60)).write(to: wrongShape)
        let shortCSV = folder.appendingPathComponent("short.csv").path
        try "a,b,c\n1,2,3\n".write(toFile: shortCSV, atomically: true, encoding: .utf8)
        let badCell = folder.appendingPathComponent("bad.csv").path
        try ("a,b,c\n" + String(repeating: "1,2,3\n", count: 70) + "1,x,3\n").write(toFile: badCell, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent("out.npy").path
        let cases: [([String], String)] = [
            (["--checkpoint", model, "--input", wrongShape, "--output", out], "shape [2, 10, 3], the model needs [batch, 64, channels]"),
            (["--checkpoint", model, "--input", shortCSV, "--output", out], "series too short: 1 rows"),
            (["--checkpoint", model, "--input", badCell, "--output", out], "line 72, column 'b': 'x' is not a finite number"),
            (["--checkpoint", folder.path, "--input", wrongShape, "--output", out], "no config.json"),
            (["--checkpoint", model, "--input", folder.appendingPathComponent("none.npy").path, "--output", out], "no such file"),
        ]
        for (arguments, message) in cases {
            let result = try TTMProcess.run(["forecast"] + arguments)
            XCTAssertNotEqual(result.status, 0, message)
            XCTAssertTrue(result.standardError.contains(message), "expected '\(message)' in: \(result.standardError)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing written on failure")
    }

    func testInspectPrintsParameterCounts() throws {
        let result = try TTMProcess.run(["inspect", shared.appendingPathComponent("fixtures/granite-ttm/small_mixchannel/model").path])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("backbone 3,664"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("total 6,458"), result.standardOutput)
        XCTAssertTrue(result.standardOutput.contains("mode mix_channel"), result.standardOutput)
    }

    /// `ttm average` of IBM's small model and a copy whose weights are scaled by 3 holds twice the weights (the
    /// architecture of the first); folders of different architectures, one folder, or an existing output are refused.
    func testAverageOfCheckpoints() throws {
        let model = shared.appendingPathComponent("fixtures/granite-ttm/small/model")
        let original = try SafeTensors.read(contentsOf: model.appendingPathComponent("model.safetensors").path)
        let tripled = folder.appendingPathComponent("tripled")
        try FileManager.default.createDirectory(at: tripled, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: model.appendingPathComponent("config.json"), to: tripled.appendingPathComponent("config.json"))
        try SafeTensors.write(try original.tensors.map { SafeTensors.Entry(name: $0.name, shape: $0.shape, values: try original.floats($0.name).map { 3 * $0 }) },
                              to: tripled.appendingPathComponent("model.safetensors").path)
        let out = folder.appendingPathComponent("averaged").path
        let result = try TTMProcess.run(["average", model.path, tripled.path, "--output", out])
        XCTAssertEqual(result.status, 0, result.standardError)
        let averaged = try SafeTensors.read(contentsOf: out + "/model.safetensors")
        XCTAssertEqual(averaged.names.sorted(), original.names.sorted())
        for name in original.names {
            for (a, o) in zip(try averaged.floats(name), try original.floats(name)) { XCTAssertEqual(a, 2 * o, accuracy: 1e-6 * max(1, abs(o)), name) }
        }
        // The first input's architecture, as inspect summarises it.
        let summary = { (path: String) in try TTMProcess.run(["inspect", path]).standardOutput.split(separator: "\n").dropFirst() }
        XCTAssertEqual(try summary(out), try summary(model.path))

        let other = shared.appendingPathComponent("fixtures/granite-ttm/small_mixchannel/model").path
        let mismatched = try TTMProcess.run(["average", model.path, other, "--output", folder.appendingPathComponent("bad").path])
        XCTAssertNotEqual(mismatched.status, 0)
        XCTAssertTrue(mismatched.standardError.contains(other) && mismatched.standardError.contains("architecture"), mismatched.standardError)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("bad").path), "nothing written on failure")
        let single = try TTMProcess.run(["average", model.path, "--output", folder.appendingPathComponent("one").path])
        XCTAssertNotEqual(single.status, 0)
        XCTAssertTrue(single.standardError.contains("at least two"), single.standardError)
        let existing = try TTMProcess.run(["average", model.path, tripled.path, "--output", out])
        XCTAssertNotEqual(existing.status, 0)
        XCTAssertTrue(existing.standardError.contains("already exists"), existing.standardError)
    }

    /// Every series of a long CSV, and of the same data prepared: one CSV with each series' 16 steps, stamped from
    /// its hourly frequency; the series too short for the context is skipped; both inputs give the same file.
    func testForecastsEverySeriesOfALongCSVAndOfAPreparedFolder() throws {
        let model = shared.appendingPathComponent("fixtures/granite-ttm/small/model").path
        var csv = "store,time,a,b\n"
        for (store, length, start) in [("north", 80, 0), ("south", 70, 5), ("tiny", 10, 0)] {
            for t in 0..<length {
                let hour = start + t
                csv += "\(store)," + String(format: "2021-03-%02d %02d:00:00", 1 + hour / 24, hour % 24) + ",\(sin(Double(t) / 6)),\(Double(t % 5))\n"
            }
        }
        let input = folder.appendingPathComponent("long.csv").path
        try csv.write(toFile: input, atomically: true, encoding: .utf8)
        let fromCSV = folder.appendingPathComponent("from-csv.csv").path
        let result = try TTMProcess.run(["forecast", "--checkpoint", model, "--input", input, "--id-columns", "store", "--output", fromCSV])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardError.contains("2 series x 16 steps x 2 channels") && result.standardError.contains("1 series shorter than 64 rows skipped"),
                      result.standardError)
        let lines = try String(contentsOfFile: fromCSV, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 2 * 16)
        XCTAssertEqual(lines[0], "series,step,timestamp,a,b")
        // north's last row is hour 79 (2021-03-04 07:00); south's is hour 74 (2021-03-04 02:00).
        XCTAssertTrue(lines[1].hasPrefix("north,1,2021-03-04 08:00:00,"), String(lines[1]))
        XCTAssertTrue(lines[32].hasPrefix("south,16,2021-03-04 18:00:00,"), String(lines[32]))

        let prepared = folder.appendingPathComponent("prepared").path
        let prepare = try TTMProcess.run(["prepare", "--input", input, "--output", prepared, "--id-columns", "store", "--timestamp-column", "time"])
        XCTAssertEqual(prepare.status, 0, prepare.standardError)
        let fromFolder = folder.appendingPathComponent("from-folder.csv").path
        let again = try TTMProcess.run(["forecast", "--checkpoint", model, "--input", prepared, "--output", fromFolder, "--batch-size", "1"])
        XCTAssertEqual(again.status, 0, again.standardError)
        XCTAssertEqual(try String(contentsOfFile: fromFolder, encoding: .utf8), try String(contentsOfFile: fromCSV, encoding: .utf8))
        // A .npy output cannot hold ids and timestamps.
        let refused = try TTMProcess.run(["forecast", "--checkpoint", model, "--input", prepared, "--output", folder.appendingPathComponent("x.npy").path])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.standardError.contains("give a .csv output"), refused.standardError)
    }
}
