import Checkpoint
import Foundation
import XCTest

/// A KerasFactory TSMixer through the product, as a user runs it: `model.kind: tsmixer` pretrained under
/// mpirun (synchronised BatchNorm, so the rank count does not change the run), resumed after kill -9, and its
/// checkpoint evaluated, forecast with, inspected and fine-tuned.
final class TSMixerRunTests: CLITestCase {
    private var data: String { folder.appendingPathComponent("etth1").path }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try prepareETTh1(into: data, context: 48)
    }

    private func config(_ name: String, steps: Int = 24, batch: Int = 24) throws -> String {
        let run = folder.appendingPathComponent(name).path
        let text = """
            model: {kind: tsmixer, seq_len: 48, pred_len: 12, n_features: 7, n_blocks: 2, ff_dim: 16, dropout: 0.3}
            data: {shards: [\(data)], view: multivariate}
            training: {global_batch_size: \(batch), learning_rate: 1.0e-3, warmup_steps: 2, steps: \(steps), seed: 5, checksum_every: 4,
                       validation_every: 12, validation_batches: 2}
            checkpointing: {directory: \(run)/checkpoints, every: 8, keep: 2}
            logging: {metrics: \(run)/metrics.jsonl, progress_every: 8}
            finetune: {data: \(data), epochs: 2, batch_size: 32, max_batches_per_epoch: 4, output: \(run)/finetuned}

            """
        let path = folder.appendingPathComponent("\(name).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Dropout on and BatchNorm in every block: 1, 2 and 4 ranks (4 with a global batch of 22, so the shares
    /// differ in size) give the same loss at every step within 1e-4; the checksum check would stop a run whose
    /// ranks' moving statistics drifted apart.
    func testOneTwoAndFourRanksGiveTheSameRun() throws {
        try assertSameRunOnOneTwoAndFourRanks(steps: 24) { try config($0, batch: 22) }
    }

    /// kill -9 after a checkpoint, --resume, and the final weights (BatchNorm statistics included) equal the
    /// uninterrupted run's bit for bit. Then the checkpoint serves every command.
    func testResumeAndEveryCommandOnTheCheckpoint() throws {
        let whole = try MPIRun.run(ranks: 2, ["pretrain", "--config", try config("whole")])
        XCTAssertEqual(whole.status, 0, whole.standardError)
        XCTAssertTrue(whole.standardOutput.contains("pretrain: tsmixer"), whole.standardOutput)
        XCTAssertTrue(whole.standardOutput.contains("finetune: best epoch"), whole.standardOutput)

        try assertKilledAndResumedRunMatches(try config("interrupted"), name: "interrupted", whole: "whole")
        let final = folder.appendingPathComponent("whole/checkpoints/final").path
        // The killed run had logged steps past its last checkpoint; resuming cut them, so each step appears once.
        let text = try String(contentsOfFile: folder.appendingPathComponent("interrupted/metrics.jsonl").path, encoding: .utf8)
        let steps = text.split(separator: "\n").compactMap { line -> Int? in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], object["loss"] != nil else { return nil }
            return object["step"] as? Int
        }
        XCTAssertEqual(steps, Array(1...24), "metrics.jsonl after kill -9 and --resume")

        // The folder is Keras': variables by path, moving statistics included.
        let weights = try SafeTensors.read(contentsOf: final + "/model.safetensors")
        XCTAssertNotNil(weights["mixing_layer_1/feature_mixer/feature_norm/moving_variance"])
        XCTAssertEqual(weights["output_projection/kernel"]?.shape, [48, 12])

        let inspect = try TTMProcess.run(["inspect", final])
        XCTAssertEqual(inspect.status, 0, inspect.standardError)
        XCTAssertTrue(inspect.standardOutput.contains("KerasFactory TSMixer"), inspect.standardOutput)

        let report = folder.appendingPathComponent("report.json").path
        let evaluation = try TTMProcess.run(["evaluate", "--checkpoint", final, "--checkpoint", folder.appendingPathComponent("whole/finetuned").path,
                                             "--data", data, "--split", "test", "--report", report])
        XCTAssertEqual(evaluation.status, 0, evaluation.standardError)
        let json = try JSONSerialization.jsonObject(with: XCTUnwrap(FileManager.default.contents(atPath: report))) as! [String: Any]
        XCTAssertEqual((json["models"] as? [[String: Any]])?.count, 2)
        XCTAssertTrue(((json["mse"] as? Double) ?? .nan).isFinite)

        XCTAssertEqual(try forecastETTh1(final).count, 12)

        // Fine-tuning kept the mixing layers and moved the projection.
        let tuned = try SafeTensors.read(contentsOf: folder.appendingPathComponent("whole/finetuned/model.safetensors").path)
        for name in weights.names where name.hasPrefix("mixing_layer_") {
            XCTAssertEqual(try weights.floats(name).map(\.bitPattern), try tuned.floats(name).map(\.bitPattern), name)
        }
        XCTAssertNotEqual(try weights.floats("output_projection/bias"), try tuned.floats("output_projection/bias"))
    }
}
