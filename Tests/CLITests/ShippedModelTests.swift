import Foundation
import XCTest

/// models/ttm-public-512-96, the TTM pretrained only on public data (launch/corpus-public.sh,
/// launch/pretrain-public.sh): it loads, forecasts a CSV without any training, and scores on ETTh1's test split
/// (standard protocol, never trained on) what its model card says.
final class ShippedModelTests: CLITestCase {
    var model: String { repository.appendingPathComponent("models/ttm-public-512-96").path }

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
        let steps = try forecastETTh1(model)
        XCTAssertEqual(steps.count, 96)
        let values = steps.flatMap { $0.split(separator: ",").dropFirst(2).map { Double($0)! } }
        XCTAssertTrue(values.allSatisfy(\.isFinite))
        let inspect = try TTMProcess.run(["inspect", model])
        XCTAssertEqual(inspect.status, 0, inspect.standardError)
    }
}
