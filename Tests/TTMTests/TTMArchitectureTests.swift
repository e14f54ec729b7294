import Checkpoint
import Foundation
import Models
import NN
@testable import TTM
import XCTest

final class TTMArchitectureTests: XCTestCase {
    /// The seed's default: context 512, horizon 96, patch 64, 6 levels × 2 blocks, hidden 192, expansion 2,
    /// decoder 2 layers of width 192, one channel. IBM's count for it is 1,907,528.
    func testSeedDefaultArchitectureHasIBMsParameterCount() throws {
        let config = TTMConfig(contextLength: 512, predictionLength: 96, patchLength: 64, numInputChannels: 1, dModel: 192,
                               expansionFactor: 2, numLayers: 2, adaptivePatchingLevels: 6, decoderNumLayers: 2, decoderDModel: 192)
        let model = try TTMModel(config: config)
        XCTAssertEqual(model.layout.count, 1_907_528)
        XCTAssertEqual(config.adaptiveFactors, [32, 16, 8, 4, 2, 1])
        XCTAssertNil(model.layout["decoder.adapter.weight"], "no adapter when the decoder width equals d_model")
    }

    func testAdaptiveFactorsStopAtWidthFour() {
        let config = TTMConfig(contextLength: 64, predictionLength: 8, patchLength: 8, dModel: 16, numLayers: 1,
                               adaptivePatchingLevels: 4, decoderNumLayers: 1, decoderDModel: 8)
        // 16/8 = 2 and 16/4 = 4 are too narrow: those groups run unsplit.
        XCTAssertEqual(config.adaptiveFactors, [1, 1, 2, 1])
    }

    func testConfigJSONRoundTripsAndPreservesIBMFields() throws {
        let path = Shared.granite("small_mixchannel").appendingPathComponent("model/config.json").path
        let data = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let config = try TTMConfig(json: data)
        XCTAssertEqual(config.decoderMode, .mixChannel)
        XCTAssertEqual(config.decoderNumLayers, 2)
        let written = try config.jsonData()
        XCTAssertEqual(try TTMConfig(json: written), config)
        let original = try JSONSerialization.jsonObject(with: data) as! NSDictionary
        let rewritten = try JSONSerialization.jsonObject(with: written) as! NSDictionary
        XCTAssertEqual(Set(original.allKeys as! [String]), Set(rewritten.allKeys as! [String]), "same fields as IBM's file")
        for key in ["decoder_mode", "quantile_levels", "fcm_mix_layers", "architectures", "num_patches"] {
            XCTAssertEqual(original[key] as? NSObject, rewritten[key] as? NSObject, key)
        }
    }

    private func configError(_ edit: (inout [String: Any]) -> Void) throws -> String {
        let path = Shared.granite("small").appendingPathComponent("model/config.json").path
        var fields = try JSONSerialization.jsonObject(with: XCTUnwrap(FileManager.default.contents(atPath: path))) as! [String: Any]
        edit(&fields)
        do {
            _ = try TTMConfig(json: JSONSerialization.data(withJSONObject: fields))
            return "accepted"
        } catch {
            return String(describing: error)
        }
    }

    func testBadConfigsNameTheField() throws {
        XCTAssertTrue(try configError { $0["surprise"] = 1 }.contains("'surprise'"))
        XCTAssertTrue(try configError { $0["self_attn"] = true }.contains("'self_attn'"))
        XCTAssertTrue(try configError { $0["d_model"] = "wide" }.contains("'d_model'"))
        XCTAssertTrue(try configError { $0.removeValue(forKey: "context_length") }.contains("'context_length'"))
        XCTAssertTrue(try configError { $0["num_patches"] = 9 }.contains("'num_patches'"))
        XCTAssertTrue(try configError { $0["patch_stride"] = 4; $0["num_patches"] = 15 }.contains("'patch_stride'"))
        XCTAssertTrue(try configError { $0["scaling"] = "mean" }.contains("'scaling'"))
        XCTAssertTrue(try configError { $0["decoder_mode"] = "sideways" }.contains("'decoder_mode'"))
        XCTAssertTrue(try configError { $0["dropout"] = 1.5 }.contains("'dropout'"))
        XCTAssertEqual(try configError { _ in }, "accepted")
        // granite-tsfm builds its std scaler for scaling: true.
        XCTAssertEqual(try configError { $0["scaling"] = true }, "accepted")
        // An unsupported feature that also changes num_patches is named itself, not as a num_patches mismatch.
        XCTAssertTrue(try configError { $0["resolution_prefix_tuning"] = true; $0["num_patches"] = 9 }.contains("'resolution_prefix_tuning'"))
    }

    /// Floats are written as the numbers they are (0.2), not widened to Double (0.20000000298023224).
    func testConfigFloatsAreWrittenShortest() throws {
        let config = TTMConfig(contextLength: 64, predictionLength: 16, patchLength: 8, dModel: 16, numLayers: 1, decoderNumLayers: 1,
                               decoderDModel: 16, dropout: 0.2, headDropout: 0.3)
        let text = String(decoding: try config.jsonData(), as: UTF8.self)
        XCTAssertTrue(text.contains("\"dropout\" : 0.2,"), text)
        XCTAssertTrue(text.contains("\"head_dropout\" : 0.3,"), text)
        XCTAssertTrue(text.contains("\"norm_eps\" : 1e-05") || text.contains("\"norm_eps\" : 1.0e-05"), text)
        let back = try TTMConfig(json: config.jsonData())
        XCTAssertEqual([back.dropout, back.headDropout, back.normEpsilon], [config.dropout, config.headDropout, config.normEpsilon])
    }

    /// A checkpoint we write loads back with identical outputs, and holds exactly config.json and
    /// model.safetensors, the latter laid out as safetensors specifies.
    func testSavedCheckpointLoadsBackIdentically() throws {
        let original = try ModelFolder.load(Shared.granite("small_apl2").appendingPathComponent("model").path)
        let (model, store) = (try XCTUnwrap(original.network as? TTMModel), original.store)
        // Move the weights off the reference values so the round trip is not trivially the fixture.
        for i in 0..<store.count { store.values[i] += Float(i % 7) * 1e-3 }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-ckpt-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try ModelFolder.save(original, to: folder.path)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)), ["config.json", "model.safetensors"])
        let (loaded, loadedStore) = try loadTTM(folder.path)
        XCTAssertEqual(loaded.config, model.config)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: loadedStore.values, count: store.count)),
                       Array(UnsafeBufferPointer(start: store.values, count: store.count)))
        var g = Lcg(seed: 3)
        let past = (0..<(2 * 64 * 3)).map { _ in g.normal() }
        let a = past.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: model.forward($0.baseAddress!, batch: 2, mode: .inference, store), count: 2 * 16 * 3)) }
        let b = past.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: loaded.forward($0.baseAddress!, batch: 2, mode: .inference, loadedStore), count: 2 * 16 * 3)) }
        XCTAssertEqual(a, b)
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: folder.appendingPathComponent("model.safetensors").path))
        XCTAssertEqual(bytes, SafeTensors.encode(TTMWeights.entries(store)))
        let headerLength = bytes.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        let header = String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.hasPrefix("{\"__metadata__\":{\"format\":\"pt\"},\"backbone.encoder.mlp_mixer_encoder.mixers.0.mixer_layers.0.feature_mixer.gating_block.attn_layer.bias\":{\"dtype\":\"F32\",\"shape\":[8],\"data_offsets\":[0,32]}"), String(header.prefix(200)))
        let names = (try JSONSerialization.jsonObject(with: Data(header.utf8)) as! [String: Any]).keys.filter { $0 != "__metadata__" }
        XCTAssertEqual(names.count, store.layout.views.count)
    }

    func testLoadingRefusesMismatchedWeights() throws {
        let source = Shared.granite("small").appendingPathComponent("model")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-bad-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        // The apl2 weights under the plain model's config: names differ.
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: folder.appendingPathComponent("config.json"))
        try FileManager.default.copyItem(at: Shared.granite("small_apl2").appendingPathComponent("model/model.safetensors"),
                                         to: folder.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try ModelFolder.load(folder.path)) {
            XCTAssertTrue(String(describing: $0).contains("model.safetensors: unexpected tensor"), "\($0)")
        }
        XCTAssertThrowsError(try ModelFolder.load(folder.appendingPathComponent("nothing").path)) {
            XCTAssertTrue(String(describing: $0).contains("no such checkpoint folder"), "\($0)")
        }
    }
}

struct Lcg {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 6_364_136_223_846_793_005 &+ 1 }
    mutating func uniform() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 24)
    }
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}

final class TTMSeedVocabularyTests: XCTestCase {
    func testSeedVocabularyBuildsTheSeedDefault() throws {
        let config = try TTMConfig(modelSection: [
            "context_length": .number(512), "prediction_length": .number(96), "patch_length": .number(64),
            "num_backbone_levels": .number(6), "blocks_per_level": .number(2), "hidden_features": .number(192),
            "expansion_factor": .number(2), "decoder_layers": .number(2), "dropout": .number(0.2),
            "head_dropout": .number(0.2), "use_revin": .bool(true),
        ], source: "seed.yaml")
        XCTAssertEqual(config.adaptivePatchingLevels, 6)
        XCTAssertEqual(config.decoderDModel, 192)
        XCTAssertEqual(config.scaling, .std)
        XCTAssertEqual(try TTMModel(config: config).layout.count, 1_907_528)
    }

    func testUnknownAndConflictingKeysAreNamed() {
        XCTAssertThrowsError(try TTMConfig(modelSection: ["context_length": .number(64), "levels": .number(2)], source: "x.yaml")) {
            XCTAssertTrue(String(describing: $0).contains("'levels'"), "\($0)")
        }
        XCTAssertThrowsError(try TTMConfig(modelSection: ["hidden_features": .number(64), "d_model": .number(32)], source: "x.yaml")) {
            XCTAssertTrue(String(describing: $0).contains("'hidden_features'"), "\($0)")
        }
        XCTAssertThrowsError(try TTMConfig(modelSection: ["context_length": .number(64), "prediction_length": .number(8),
                                                          "patch_length": .number(8), "hidden_features": .number(16),
                                                          "blocks_per_level": .number(1), "decoder_layers": .number(1),
                                                          "use_revin": .string("yes")], source: "x.yaml")) {
            XCTAssertTrue(String(describing: $0).contains("'use_revin'"), "\($0)")
        }
    }
}
