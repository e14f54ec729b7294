import Checkpoint
import Foundation
import XCTest

/// MixerFlow and Glow through the product, as a user runs them: images prepared from IDX files, `model.kind:
/// mixerflow|glow` pretrained under mpirun (ActNorm's data-dependent start summed over the ranks, so the rank
/// count does not change the run), resumed after kill -9, and the checkpoint evaluated, sampled and inspected.
final class FlowRunTests: CLITestCase {
    private var data: String { folder.appendingPathComponent("images").path }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try writeStripeImages()
        let prepared = try TTMProcess.run(["prepare", "--images", folder.appendingPathComponent("idx").path, "--output", data,
                                           "--validation-count", "40"])
        XCTAssertEqual(prepared.status, 0, prepared.standardError)
    }

    /// 16 x 16 greyscale images of 4 classes: class c is a bright stripe (rows for even c, columns for odd c) at a
    /// class-dependent place, on noise; IDX files as MNIST ships them (uncompressed).
    private func writeStripeImages() throws {
        let idx = folder.appendingPathComponent("idx")
        try FileManager.default.createDirectory(at: idx, withIntermediateDirectories: true)
        var state: UInt64 = 12345
        func next() -> UInt8 { state = state &* 6364136223846793005 &+ 1442695040888963407; return UInt8(truncatingIfNeeded: state >> 59) }
        for (prefix, count) in [("train", 360), ("t10k", 80)] {
            var pixels: [UInt8] = [], labels: [UInt8] = []
            for image in 0..<count {
                let label = image % 4, position = 3 + 3 * label
                for y in 0..<16 {
                    for x in 0..<16 {
                        let onStripe = (label % 2 == 0 ? y : x) / 2 == position / 2
                        pixels.append(onStripe ? 200 + next() : 20 + 2 * next())
                    }
                }
                labels.append(UInt8(label))
            }
            try Data(header([count, 16, 16]) + pixels).write(to: idx.appendingPathComponent("\(prefix)-images-idx3-ubyte"))
            try Data(header([count]) + labels).write(to: idx.appendingPathComponent("\(prefix)-labels-idx1-ubyte"))
        }
    }

    private func header(_ dimensions: [Int]) -> [UInt8] {
        [0, 0, 8, UInt8(dimensions.count)] + dimensions.flatMap { d in (0..<4).map { UInt8(truncatingIfNeeded: d >> (8 * (3 - $0))) } }
    }

    private func config(_ name: String, model: String, steps: Int = 16, batch: Int = 22, extra: String = "") throws -> String {
        let run = folder.appendingPathComponent(name).path
        let text = """
            model: \(model)
            data: {shards: [\(data)]}
            training: {global_batch_size: \(batch), learning_rate: 2.0e-3, warmup_steps: 2, steps: \(steps), seed: 3, checksum_every: 4,
                       validation_every: 8, validation_batches: 1}
            checkpointing: {directory: \(run)/checkpoints, every: 8, keep: 2}
            logging: {metrics: \(run)/metrics.jsonl, progress_every: 8}
            \(extra)
            """
        let path = folder.appendingPathComponent("\(name).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    private let mixerflow = "{kind: mixerflow, height: 16, width: 16, channels: 1, patch: 4, steps: 4, shift_every: 2, channel_hidden: 16, patch_hidden: 16}"
    private let glow = "{kind: glow, height: 16, width: 16, channels: 1, levels: 2, steps_per_level: 2, hidden: 8}"

    /// Shift layers on, a global batch of 22 (4 ranks hold 6, 6, 5, 5 images): the same bits/dim at every step.
    func testMixerFlowOneTwoAndFourRanksGiveTheSameRun() throws {
        try assertSameRunOnOneTwoAndFourRanks(steps: 16) { try config($0, model: mixerflow) }
    }

    /// kill -9 after a checkpoint, --resume, and the final weights equal the uninterrupted run's bit for bit;
    /// then the checkpoint is evaluated (bits/dim, linear probe), sampled into a PNG and inspected, and the
    /// commands that need a forecaster refuse it by name.
    func testGlowResumesBitExactlyAndServesEvaluateAndSample() throws {
        let whole = try MPIRun.run(ranks: 2, ["pretrain", "--config", try config("whole", model: glow)])
        XCTAssertEqual(whole.status, 0, whole.standardError)
        XCTAssertTrue(whole.standardOutput.contains("pretrain: glow, 2 rank(s)"), whole.standardOutput)
        XCTAssertTrue(whole.standardOutput.contains("320 training images"), whole.standardOutput)

        try assertKilledAndResumedRunMatches(try config("interrupted", model: glow), name: "interrupted", whole: "whole")
        let final = folder.appendingPathComponent("whole/checkpoints/final").path
        let weights = try SafeTensors.read(contentsOf: final + "/model.safetensors")
        XCTAssertEqual(try weights.floats("levels.0.steps.0.norm.initialized"), [1], "ActNorm's start is saved with the weights")

        let report = folder.appendingPathComponent("report.json").path
        let evaluation = try TTMProcess.run(["evaluate", "--checkpoint", final, "--data", data, "--report", report])
        XCTAssertEqual(evaluation.status, 0, evaluation.standardError)
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        let bpd = try XCTUnwrap((object["test_bpd"] as? [String: Any])?["final"] as? Double)
        XCTAssertTrue(bpd > 0 && bpd < 8, "test bits/dim \(bpd) should be below the 8 of a uniform model")
        let probe = try XCTUnwrap(object["linear_probe_accuracy"] as? [String: Double])
        XCTAssertGreaterThan(try XCTUnwrap(probe["final"]), 0.9, "the stripe classes are linearly separable in any invertible embedding worth the name")
        XCTAssertNotNil(probe["pixels"])
        XCTAssertGreaterThan((object["parameters"] as? [String: Int])?["final"] ?? 0, 1000)
        let roundTrip = try XCTUnwrap(object["max_reconstruction_error"] as? Double)
        XCTAssertLessThan(roundTrip, 1e-3, "f⁻¹(f(x)) = x to float32 precision")
        XCTAssertEqual(object["images"] as? Int, 80)

        let png = folder.appendingPathComponent("samples.png").path
        let sampled = try TTMProcess.run(["sample", "--checkpoint", final, "--count", "9", "--temperature", "0.7", "--output", png])
        XCTAssertEqual(sampled.status, 0, sampled.standardError)
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: png))
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        // IHDR: 3 x 3 images of 16 px with 2 px gutters = 56 x 56, greyscale.
        XCTAssertEqual(Array(bytes[16..<24]), [0, 0, 0, 56, 0, 0, 0, 56])
        XCTAssertEqual(bytes[25], 0)
        let again = try TTMProcess.run(["sample", "--checkpoint", final, "--count", "9", "--output", png])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.standardError.contains("--overwrite"), again.standardError)

        let inspect = try TTMProcess.run(["inspect", final])
        XCTAssertEqual(inspect.status, 0, inspect.standardError)
        XCTAssertTrue(inspect.standardOutput.contains("model: glow"), inspect.standardOutput)

        let csv = folder.appendingPathComponent("past.csv").path
        try "date,x\n2020-01-01,1\n2020-01-02,2\n".write(toFile: csv, atomically: true, encoding: .utf8)
        let forecast = try TTMProcess.run(["forecast", "--checkpoint", final, "--input", csv, "--output", folder.appendingPathComponent("f.csv").path])
        XCTAssertEqual(forecast.status, 1)
        XCTAssertTrue(forecast.standardError.contains("glow model, which models images and does not forecast"), forecast.standardError)
    }

    /// A flow has no fine-tuning stage, a shape that does not match the data is named, a bad patch is refused.
    func testFlowConfigsAreCheckedAgainstTheData() throws {
        let cases: [(String, String, String)] = [
            (mixerflow, "finetune: {data: \(data), output: \(folder.path)/ft}", "config key 'finetune': a mixerflow is trained whole"),
            ("{kind: mixerflow, height: 28, width: 28}", "", "28 x 28 x 1, but"),
            ("{kind: mixerflow, height: 16, width: 16, patch: 5}", "", "config key 'model.patch': 5 must divide the image sides 16 x 16"),
            ("{kind: glow, height: 16, width: 16, levels: 5}", "", "config key 'model.levels': 5 levels each halve the sides"),
            ("{kind: glow, height: 16, width: 16, depth: 3}", "", "unknown glow field"),
        ]
        for (index, (model, extra, message)) in cases.enumerated() {
            let result = try TTMProcess.run(["pretrain", "--config", try config("bad\(index)", model: model, extra: extra)])
            XCTAssertEqual(result.status, 1, model)
            XCTAssertTrue(result.standardError.contains(message), "\(model): \(result.standardError)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("bad\(index)/checkpoints/final").path))
        }
    }
}
