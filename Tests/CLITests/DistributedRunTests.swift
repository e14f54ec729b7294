import Checkpoint
import Foundation
import XCTest

/// The pretraining job end to end through `mpirun` and the built `ttm`: rank-count independence, resume after
/// a stop and after `kill -9`, fine-tuning in the same job, refusal to resume an incompatible run, NaN reports.
final class DistributedRunTests: CLITestCase {
    private var data: String { folder.appendingPathComponent("etth1").path }

    override func setUpWithError() throws {
        try super.setUpWithError()
        try prepareETTh1(into: data, context: 64)
    }

    private func config(_ name: String, steps: Int = 32, batch: Int = 24, every: Int = 8, learningRate: String = "2.0e-3",
                        finetune: Bool = false) throws -> String {
        let run = folder.appendingPathComponent(name).path
        var text = """
            model: {context_length: 64, prediction_length: 16, patch_length: 8, num_backbone_levels: 2, blocks_per_level: 1,
                    hidden_features: 16, decoder_layers: 1, dropout: 0.3, head_dropout: 0.2}
            data: {shards: [\(data)]}
            training: {global_batch_size: \(batch), learning_rate: \(learningRate), warmup_steps: 4, schedule: one-cycle, steps: \(steps),
                       seed: 11, checksum_every: 8, validation_every: 16, validation_batches: 2}
            checkpointing: {directory: \(run)/checkpoints, every: \(every), keep: 2}
            logging: {metrics: \(run)/metrics.jsonl, progress_every: 8}

            """
        if finetune {
            text += "finetune: {data: \(data), epochs: 2, batch_size: 32, max_batches_per_epoch: 6, decoder_mode: mix_channel, output: \(run)/finetuned}\n"
        }
        let path = folder.appendingPathComponent("\(name).yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Same global batch, dropout on: 1, 2 and 4 ranks give the same loss at every one of 32 steps within 1e-4.
    func testOneTwoAndFourRanksGiveTheSameRun() throws {
        try assertSameRunOnOneTwoAndFourRanks(steps: 32) { try config($0) }
    }

    /// Stop (kill -9 of one rank) after a checkpoint, resume, and the final weights equal the uninterrupted run's
    /// bit for bit; the killed job exits non-zero and leaves only complete checkpoints.
    func testKillAndResumeReproducesTheUninterruptedRun() throws {
        let whole = try MPIRun.run(ranks: 2, ["pretrain", "--config", try config("whole", steps: 48)])
        XCTAssertEqual(whole.status, 0, whole.standardError)

        try assertKilledAndResumedRunMatches(try config("interrupted", steps: 48), name: "interrupted", whole: "whole") { checkpoints in
            let left = try FileManager.default.contentsOfDirectory(atPath: checkpoints)
            XCTAssertFalse(left.contains("final"), "the killed run did not finish: \(left)")
            for name in left where name.hasPrefix("step-") {
                let files = Set(try FileManager.default.contentsOfDirectory(atPath: checkpoints + "/" + name))
                XCTAssertEqual(files, ["config.json", "model.safetensors", "optimizer.safetensors", "training_state.json"], name)
            }
            XCTAssertTrue(left.filter { $0.hasPrefix("step-") }.count >= 1)
        }
    }

    func testResumeRefusesAnIncompatibleConfigAndSaysWhatDiffers() throws {
        let first = try MPIRun.run(ranks: 1, ["pretrain", "--config", try config("base", steps: 16)])
        XCTAssertEqual(first.status, 0, first.standardError)
        let changed = try config("base", steps: 16, batch: 20)
        let result = try MPIRun.run(ranks: 1, ["pretrain", "--config", changed, "--resume"])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("training.global_batch_size: checkpoint 24, config 20"), result.standardError)
    }

    /// Fine-tuning runs in the same mpirun job on rank 0 after pretraining and trains decoder and head only.
    func testFineTuningFollowsPretrainingAndKeepsTheBackbone() throws {
        let result = try MPIRun.run(ranks: 2, ["pretrain", "--config", try config("tuned", steps: 16, finetune: true)])
        XCTAssertEqual(result.status, 0, result.standardError)
        XCTAssertTrue(result.standardOutput.contains("finetune: best epoch"), result.standardOutput)
        let run = folder.appendingPathComponent("tuned")
        let pretrained = try SafeTensors.read(contentsOf: run.appendingPathComponent("checkpoints/final/model.safetensors").path)
        let tuned = try SafeTensors.read(contentsOf: run.appendingPathComponent("finetuned/model.safetensors").path)
        let backbone = pretrained.names.filter { $0.hasPrefix("backbone.") }
        XCTAssertFalse(backbone.isEmpty)
        for name in backbone { XCTAssertEqual(try pretrained.floats(name).map(\.bitPattern), try tuned.floats(name).map(\.bitPattern), name) }
        XCTAssertNotEqual(try pretrained.floats("head.base_forecast_block.bias"), try tuned.floats("head.base_forecast_block.bias"))
        XCTAssertNotNil(tuned["decoder.decoder_block.mixers.0.channel_feature_mixer.mlp.fc1.weight"], "mix_channel decoder")
        let metrics = try JSONSerialization.jsonObject(with: XCTUnwrap(FileManager.default.contents(atPath: run.appendingPathComponent("finetuned/metrics.json").path))) as! [String: Any]
        XCTAssertNotNil((metrics["test"] as? [String: Any])?["mse"])
    }

    func testNonFiniteLossNamesTheStepAndTheStage() throws {
        let result = try MPIRun.run(ranks: 1, ["pretrain", "--config", try config("blowup", steps: 16, learningRate: "1.0e+30")])
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.standardError.contains("loss is") && result.standardError.contains("first non-finite output"), result.standardError)
    }
}

/// `mpirun` around the built `ttm`, as root when needed, on the loopback interface only.
enum MPIRun {
    static func run(ranks: Int, _ arguments: [String], killRank: Int? = nil, when condition: (() -> Bool)? = nil) throws -> TTMProcess.Output {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["mpirun", "-np", "\(ranks)", "--oversubscribe", "--mca", "btl", "vader,self", "--mca", "oob_tcp_if_include", "lo",
                             "-x", "OPENBLAS_NUM_THREADS=1", try TTMProcess.executable.path] + arguments
        var environment = cleanEnvironment()
        if getuid() == 0 { environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1" }
        process.environment = environment
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("mpirun-\(UUID().uuidString).out")
        let err = FileManager.default.temporaryDirectory.appendingPathComponent("mpirun-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        if let killRank, let condition {
            let deadline = Date().addingTimeInterval(120)
            while process.isRunning && !condition() && Date() < deadline { usleep(20_000) }
            if process.isRunning, let pid = rankProcess(killRank, under: process.processIdentifier) { kill(pid, SIGKILL) }
        }
        process.waitUntilExit()
        return .init(status: process.terminationStatus,
                     standardOutput: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                     standardError: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    /// The pid of the ttm process with OMPI_COMM_WORLD_RANK = rank started by this mpirun.
    static func rankProcess(_ rank: Int, under parent: Int32) -> Int32? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return nil }
        for entry in entries {
            guard let pid = Int32(entry), pid != parent,
                  let environ = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { continue }
            let variables = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            if variables.contains("OMPI_COMM_WORLD_RANK=\(rank)"),
               let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8), command.contains("pretrain") {
                return pid
            }
        }
        return nil
    }
}
