import NN
@testable import Training
import XCTest

final class RunConfigTests: XCTestCase {
    let valid = """
        model: {context_length: 64, prediction_length: 16, patch_length: 8, hidden_features: 16, blocks_per_level: 1, decoder_layers: 1}
        data: {shards: [data/x]}
        training: {global_batch_size: 32, learning_rate: 1e-3, steps: 10}
        """

    private func error(_ yaml: String) -> String {
        do { _ = try RunConfig(yaml: yaml, source: "run.yaml"); return "accepted" } catch { return "\(error)" }
    }

    func testValidConfigAndDefaults() throws {
        let config = try RunConfig(yaml: valid, source: "run.yaml")
        XCTAssertEqual(config.training.learningRate, 1e-3)   // YAML 1.1 reads 1e-3 as a string; accepted as a number
        XCTAssertEqual(config.training.schedule, .cosine)
        XCTAssertEqual(config.model.decoderDModel, 16)
        XCTAssertNil(config.checkpointing)
    }

    func testErrorsNameTheKey() {
        XCTAssertTrue(error(valid + "\nextra: 1").contains("'extra'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "steps: 10", with: "steps: 10, epochs: 2")).contains("'training.steps'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "global_batch_size: 32", with: "global_batch_size: 0")).contains("'training.global_batch_size'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "learning_rate: 1e-3", with: "learning_rate: fast")).contains("'training.learning_rate'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "steps: 10", with: "steps: 10, schedule: linear")).contains("'training.schedule'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "hidden_features: 16", with: "hidden_features: 16, wings: 2")).contains("'wings'"))
        XCTAssertTrue(error(valid + "\ncheckpointing: {every: 5}").contains("'checkpointing.directory'"))
        XCTAssertTrue(error(valid + "\nfinetune: {data: d, output: o, decoder_mode: diagonal}").contains("'finetune.decoder_mode'"))
        XCTAssertTrue(error("model: [1, 2]").contains("'model'"))
    }

    func testSchedules() {
        let cosine = LearningRateSchedule(peak: 1, warmupSteps: 10, totalSteps: 110, kind: .cosine)
        XCTAssertEqual(cosine.rate(at: 0), 0.1, accuracy: 1e-6)
        XCTAssertEqual(cosine.rate(at: 9), 1, accuracy: 1e-6)
        XCTAssertEqual(cosine.rate(at: 60), 0.5, accuracy: 1e-6)
        XCTAssertEqual(cosine.rate(at: 110), 0, accuracy: 1e-6)
        let cycle = LearningRateSchedule(peak: 1, warmupSteps: 0, totalSteps: 100, kind: .oneCycle)
        XCTAssertEqual(cycle.rate(at: 0), 1.0 / 25, accuracy: 1e-6)
        XCTAssertEqual(cycle.rate(at: 30), 1, accuracy: 1e-6)
        XCTAssertEqual(cycle.rate(at: 99), 1.0 / 25 / 1e4, accuracy: 1e-8)
        XCTAssertEqual(LearningRateSchedule(peak: 0.5, warmupSteps: 0, totalSteps: 9, kind: .constant).rate(at: 7), 0.5)
    }
}
