import Foundation
import XCTest

/// models/ttm-public-512-96, the TTM pretrained only on public data (launch/corpus-public.sh,
/// launch/pretrain-public.sh): it loads, forecasts a CSV without any training, and scores on ETTh1's test split
/// (standard protocol, never trained on) what its model card says.
final class ShippedModelTests: CLITestCase {
    var model: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/ttm-public-512-96").path
    }

    func testZeroShotETTh1MatchesTheModelCard() throws {
        let data = folder.appendingPathComponent("etth1").path
        try prepareETTh1(into: data, context: 512)
        let report = folder.appendingPathComponent("report.json").path
        let evaluation = try TTMProcess.run(["evaluate", "--checkpoint", model, "--data", data, "--split", "test", "--report", report])
        XCTAssertEqual(evaluation.status, 0, evaluation.standardError)
        let json = try JSONSerialization.jsonObject(with: XCTUnwrap(FileManager.default.contents(atPath: report))) as! [String: Any]
        let mse = try XCTUnwrap(json["mse"] as? Double), windows = try XCTUnwrap(json["windows"] as? Int)
        XCTAssertEqual(windows, 2785)
        XCTAssertLessThanOrEqual(mse, 0.380, "the model card's bar for zero-shot ETTh1-96")
        let card = try String(contentsOfFile: model + "/README.md", encoding: .utf8)
        XCTAssertTrue(card.contains(String(format: "%.4f", mse)), "the model card states the measured \(String(format: "%.4f", mse))")
        let baselines = try XCTUnwrap(json["baselines"] as? [String: [String: Double]])
        let seasonal = try XCTUnwrap(baselines.first { $0.key.hasPrefix("seasonal") }?.value["mse"])
        XCTAssertLessThan(mse, seasonal)
    }

    func testForecastsACSVWithoutTraining() throws {
        let ett = shared.appendingPathComponent("datasets/ETT-small/ETTh1.csv").path
        let prediction = folder.appendingPathComponent("forecast.csv").path
        let forecast = try TTMProcess.run(["forecast", "--checkpoint", model, "--input", ett, "--output", prediction])
        XCTAssertEqual(forecast.status, 0, forecast.standardError)
        let lines = try String(contentsOfFile: prediction, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 1 + 96)
        XCTAssertEqual(lines[0], "step,date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT")
        XCTAssertTrue(lines[1].hasPrefix("1,2018-06-26 20:00:00,"), lines[1].description)
        let values = lines.dropFirst().flatMap { $0.split(separator: ",").dropFirst(2).map { Double($0)! } }
        XCTAssertTrue(values.allSatisfy(\.isFinite))
        let inspect = try TTMProcess.run(["inspect", model])
        XCTAssertEqual(inspect.status, 0, inspect.standardError)
    }
}
