import Models
import NN
@testable import Training
import TSMixer
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
        guard case .ttm(let model) = config.model else { return XCTFail("kind defaults to ttm, got \(config.model.kind)") }
        XCTAssertEqual(model.decoderDModel, 16)
        XCTAssertEqual(config.data.view, .univariate)
        XCTAssertNil(config.checkpointing)
        XCTAssertNil(config.training.microBatch, "the engine picks windows per pass unless told")
        let passes = try RunConfig(yaml: valid.replacingOccurrences(of: "steps: 10", with: "steps: 10, micro_batch: 8"), source: "run.yaml")
        XCTAssertEqual(passes.training.microBatch, 8)
    }

    func testTSMixerModelSectionUsesKerasFactoryNames() throws {
        let yaml = valid.replacingOccurrences(
            of: "model: {context_length: 64, prediction_length: 16, patch_length: 8, hidden_features: 16, blocks_per_level: 1, decoder_layers: 1}",
            with: "model: {kind: tsmixer, seq_len: 64, pred_len: 16, n_features: 7, n_blocks: 3, ff_dim: 32, dropout: 0.5, use_norm: true}")
        let config = try RunConfig(yaml: yaml + "\n", source: "run.yaml")
        XCTAssertEqual(config.model, .tsmixer(.init(seqLen: 64, predLen: 16, nFeatures: 7, nBlocks: 3, ffDim: 32, dropout: 0.5, useNorm: true)))
        // The layer-level names stand for the model's.
        let aliases = yaml.replacingOccurrences(of: "seq_len: 64", with: "input_size: 64").replacingOccurrences(of: "n_features: 7", with: "n_series: 7")
            .replacingOccurrences(of: "n_blocks: 3", with: "n_block: 3")
        XCTAssertEqual(try RunConfig(yaml: aliases, source: "run.yaml").model, config.model)
        XCTAssertTrue(error(yaml.replacingOccurrences(of: "seq_len: 64", with: "seq_len: 64, input_size: 64")).contains("'model.input_size'"))
        XCTAssertTrue(error(yaml.replacingOccurrences(of: "ff_dim: 32", with: "ff_dim: 0")).contains("'model.ff_dim'"))
        XCTAssertTrue(error(yaml.replacingOccurrences(of: "ff_dim: 32", with: "ff_dim: 32, d_model: 8")).contains("'model.d_model'"))
        XCTAssertTrue(error(yaml.replacingOccurrences(of: "kind: tsmixer", with: "kind: lstm")).contains("'model.kind'"))
    }

    func testEnumsAreTyped() throws {
        XCTAssertTrue(error(valid.replacingOccurrences(of: "data: {shards: [data/x]}", with: "data: {shards: [data/x], view: wide}")).contains("'data.view'"))
        let multivariate = try RunConfig(yaml: valid.replacingOccurrences(of: "[data/x]}", with: "[data/x], view: multivariate}"), source: "run.yaml")
        XCTAssertEqual(multivariate.data.view, .multivariate)
        XCTAssertTrue(error(valid.replacingOccurrences(of: "steps: 10", with: "steps: 10, loss_space: log")).contains("'training.loss_space'"))
        let mae = try RunConfig(yaml: valid.replacingOccurrences(of: "decoder_layers: 1", with: "decoder_layers: 1, loss: mae"), source: "run.yaml")
        guard case .ttm(let model) = mae.model else { return XCTFail("not a ttm") }
        XCTAssertEqual(model.loss, .mae)
        XCTAssertTrue(error(valid.replacingOccurrences(of: "decoder_layers: 1", with: "decoder_layers: 1, loss: huber")).contains("'model.loss'"))
    }

    func testErrorsNameTheKey() {
        XCTAssertTrue(error(valid + "\nextra: 1").contains("'extra'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "steps: 10", with: "steps: 10, epochs: 2")).contains("'training.steps'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "global_batch_size: 32", with: "global_batch_size: 0")).contains("'training.global_batch_size'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "learning_rate: 1e-3", with: "learning_rate: fast")).contains("'training.learning_rate'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "steps: 10", with: "steps: 10, schedule: linear")).contains("'training.schedule'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "steps: 10", with: "steps: 10, micro_batch: 0")).contains("'training.micro_batch'"))
        XCTAssertTrue(error(valid.replacingOccurrences(of: "hidden_features: 16", with: "hidden_features: 16, wings: 2")).contains("'model.wings'"))
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
