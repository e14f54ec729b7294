import Corpus
import Foundation
import Models
import NN
@testable import Training
import TTM
import XCTest

final class EvaluationTests: XCTestCase {
    /// Hand-checked: train std 2 and 1; one window, horizon 2.
    /// prediction [[1, 0], [3, 1]], actual [[2, 0], [1, 3]] → z-errors [[-0.5, 0], [1, -2]]:
    /// MSE = (0.25 + 0 + 1 + 4) / 4 = 1.3125, MAE = (0.5 + 0 + 1 + 2) / 4 = 0.875;
    /// per channel: MSE (0.25 + 1)/2 = 0.625 and (0 + 4)/2 = 2; per step: MSE (0.25 + 0)/2 = 0.125 and (1 + 4)/2 = 2.5.
    func testMetricsOnAHandCheckedCase() {
        var errors = ErrorAccumulator(horizon: 2, channels: 2, trainStd: [2, 1])
        let prediction: [Float] = [1, 0, 3, 1], actual: [Float] = [2, 0, 1, 3]
        errors.add(prediction: prediction, actual: actual)
        let m = errors.metrics(channelNames: ["a", "b"])
        XCTAssertEqual(m.mse, 1.3125, accuracy: 1e-12)
        XCTAssertEqual(m.mae, 0.875, accuracy: 1e-12)
        XCTAssertEqual(m.perChannel.map(\.mse), [0.625, 2])
        XCTAssertEqual(m.perHorizonStep.mse, [0.125, 2.5])
        XCTAssertEqual(m.windows, 1)
    }

    func testNaiveForecasts() {
        let past: [Float] = [1, 10, 2, 20, 3, 30, 4, 40]   // context 4, 2 channels
        var out = [Float](repeating: 0, count: 6)
        NaiveForecast.lastValue.predict(past: past, context: 4, horizon: 3, channels: 2, into: &out)
        XCTAssertEqual(out, [4, 40, 4, 40, 4, 40])
        NaiveForecast.seasonal(period: 2).predict(past: past, context: 4, horizon: 3, channels: 2, into: &out)
        XCTAssertEqual(out, [3, 30, 4, 40, 3, 30])
        NaiveForecast.trainMean([5, 6]).predict(past: past, context: 4, horizon: 3, channels: 2, into: &out)
        XCTAssertEqual(out, [5, 6, 5, 6, 5, 6])
    }

    /// The report's MSE equals one computed directly from the model's forecasts of every test window.
    func testEvaluateMatchesADirectComputation() throws {
        let shared = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
        let checkpoint = shared.appendingPathComponent("fixtures/granite-ttm/small/model").path
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var csv = "t,a,b,c\n"
        for t in 0..<200 { csv += "\(t),\(sin(Double(t) / 5) * 3 + 10),\(Double(t % 24)),\(cos(Double(t) / 7) + Double(t) * 0.01)\n" }
        try csv.write(to: folder.appendingPathComponent("s.csv"), atomically: true, encoding: .utf8)
        _ = try Prepare.run(csv: folder.appendingPathComponent("s.csv").path, output: folder.appendingPathComponent("d").path,
                            options: .init(layout: .init(timestampColumn: "t"), split: .rows(trainEnd: 120, validationEnd: 140, testEnd: 200), context: 64))
        let corpus = try CorpusReader(folder: folder.appendingPathComponent("d").path)
        let evaluation = try Evaluation.run(checkpoints: [checkpoint], data: corpus, split: .test, seasonPeriod: 24)

        let loaded = try ModelFolder.load(checkpoint)
        let (model, store) = (loaded.network, loaded.store)
        var values = [Float](repeating: 0, count: 200 * 3)
        try values.withUnsafeMutableBufferPointer { try corpus.read(series: 0, row: 0, count: 200, into: $0) }
        var sum = 0.0, count = 0
        for start in (140 - 64)...(200 - 80) {   // test rows [76, 200), windows of 80 rows
            let past = Array(values[(start * 3)..<((start + 64) * 3)])
            let y = past.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: model.forward($0.baseAddress!, batch: 1, mode: .inference, store), count: 48)) }
            for i in 0..<48 {
                let d = Double(y[i] - values[(start + 64) * 3 + i]) / corpus.trainStd[i % 3]
                sum += d * d
                count += 1
            }
        }
        XCTAssertEqual(evaluation.models[0].metrics.windows, 200 - 80 - 76 + 1)
        // Batched and one-at-a-time forwards round differently in the GEMMs (~1e-8 relative), nothing more.
        XCTAssertEqual(evaluation.models[0].metrics.mse, sum / Double(count), accuracy: 1e-6 * sum / Double(count))
        let report = try JSONSerialization.jsonObject(with: evaluation.jsonReport(dataset: "s")) as! [String: Any]
        // Foundation writes and reads JSON numbers to within an ulp, not always exactly.
        XCTAssertEqual(report["mse"] as! Double, evaluation.models[0].metrics.mse, accuracy: 4 * evaluation.models[0].metrics.mse.ulp)
        XCTAssertNotNil((report["baselines"] as! [String: Any])["seasonal naive (period 24)"])
        XCTAssertTrue(evaluation.markdownTable().contains("| last value |"))
        let plots = try evaluation.writePlots(to: folder.appendingPathComponent("plots").path)
        XCTAssertEqual(plots.count, 4)
        XCTAssertTrue(try String(contentsOfFile: plots.last!, encoding: .utf8).hasPrefix("<svg"))
    }

    /// Plot axes use round ticks (1, 2 or 5 times a power of ten) with the decimals they need, never an
    /// e-notation label, and an error axis never goes below zero.
    func testChartTicksAreRound() {
        let (values, decimals) = SVGChart.ticks(from: -96.5, to: 24.8)
        XCTAssertEqual(values, [-80, -60, -40, -20, 0, 20])
        XCTAssertEqual(decimals, 0)
        let small = SVGChart.ticks(from: 0.013, to: 0.061)
        XCTAssertEqual(small.values.map { SVGChart.label($0, decimals: small.decimals) }, ["0.02", "0.03", "0.04", "0.05", "0.06"])
        XCTAssertEqual(SVGChart.label(5300, decimals: 0), "5300")
        XCTAssertEqual(SVGChart.label(25_000, decimals: 0), "25k")
        XCTAssertEqual(SVGChart.label(3_500_000, decimals: 0), "3.5M")
        XCTAssertEqual(SVGChart.label(-0.0001, decimals: 2), "0.00")
        let chart = SVGChart(title: "t", xLabel: "x", yLabel: "y", series: [.init(name: "m", color: "#000", x: [1, 2, 3], y: [0.01, 0.5, 1])],
                             nonNegative: true)
        let svg = chart.render()
        XCTAssertFalse(svg.contains(">-"), "no negative tick on an error axis")
        XCTAssertFalse(svg.contains("e+") || svg.contains("e-0"), "no e-notation")
    }
}
