import Checkpoint
import Foundation
import Models
import NN
import TSMixer
import TTM
import XCTest

/// Model folders of every kind: the kind is read from config.json, a TSMixer folder is what Keras writes
/// (get_config keys, variables by Keras path, kernels [in, out]), and a foreign folder is refused by name.
final class ModelFolderTests: XCTestCase {
    private var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-ModelFolderTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private var keras: URL {
        let shared = ProcessInfo.processInfo.environment["TTM_SHARED_DIR"].map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("shared")
        return shared.appendingPathComponent("fixtures/kerasfactory")
    }

    private func floats(_ url: URL) throws -> [Float] {
        let data = try XCTUnwrap(FileManager.default.contents(atPath: url.path), url.path)
        return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
    }

    /// KerasFactory's own variables, written as a Keras-keyed safetensors file beside our config.json, load
    /// through the model folder and reproduce Keras' inference output (the fixture's y_infer_pre).
    func testKerasVariablesLoadThroughTheFolderAndMatchKerasFactory() throws {
        let config = TSMixer.Config(seqLen: 12, predLen: 4, nFeatures: 3, nBlocks: 2, ffDim: 5, dropout: 0, useNorm: true, normAffine: true)
        let fixture = keras.appendingPathComponent("tsmixer_affine/perturbed")
        let names = try FileManager.default.contentsOfDirectory(atPath: fixture.appendingPathComponent("w0").path)
            .filter { $0.hasSuffix(".f32") }.map { String($0.dropLast(4)) }
        XCTAssertEqual(names.count, 2 + 2 * 14 + 2)
        let model = try TSMixer(config: config)
        var entries: [SafeTensors.Entry] = []
        for name in names {
            let ours = name.hasSuffix(".kernel") ? String(name.dropLast(7)) + ".weight" : name
            let view = try XCTUnwrap(model.layout[ours], name)
            let shape = name.hasSuffix(".kernel") ? [view.shape[1], view.shape[0]] : view.shape
            entries.append(.init(name: name.replacingOccurrences(of: ".", with: "/"), shape: shape,
                                 values: try floats(fixture.appendingPathComponent("w0/\(name).f32"))))
        }
        let path = folder.appendingPathComponent("keras").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try config.jsonData().write(to: URL(fileURLWithPath: path + "/config.json"))
        try SafeTensors.encode(entries).write(to: URL(fileURLWithPath: path + "/model.safetensors"))

        let loaded = try ModelFolder.load(path)
        XCTAssertEqual(loaded.config, .tsmixer(config))
        let x = try floats(fixture.appendingPathComponent("x.f32")), expected = try floats(fixture.appendingPathComponent("y_infer_pre.f32"))
        let y = x.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: loaded.network.forward($0.baseAddress!, batch: 4, mode: .inference, loaded.store), count: expected.count)) }
        let scale = expected.map(abs).max()!
        for (a, b) in zip(y, expected) { XCTAssertEqual(a, b, accuracy: 1e-5 * scale) }

        // Saved back, the folder holds the same tensors under the same Keras names, and Keras' get_config keys.
        try ModelFolder.save(loaded, to: folder.appendingPathComponent("saved").path)
        let saved = try SafeTensors.read(contentsOf: folder.appendingPathComponent("saved/model.safetensors").path)
        XCTAssertEqual(Set(saved.names), Set(entries.map(\.name)))
        for entry in entries {
            XCTAssertEqual(saved[entry.name]?.shape, entry.shape, entry.name)
            XCTAssertEqual(try saved.floats(entry.name), entry.values, entry.name)
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("saved/config.json"))) as! [String: Any]
        XCTAssertEqual(json["class_name"] as? String, "TSMixer")
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: keras.appendingPathComponent("manifest.json"))) as! [String: Any]
        let getConfig = ((manifest["cases"] as! [[String: Any]]).first { $0["case"] as? String == "tsmixer_affine" }!["get_config"]) as! [String: Any]
        XCTAssertEqual(Set((json["config"] as! [String: Any]).keys), Set(getConfig.keys), "config.json holds KerasFactory's get_config() keys")
    }

    func testTheFolderSaysWhichKindItHolds() throws {
        let ttm = try LoadedModel(config: .ttm(TTMConfig(contextLength: 32, predictionLength: 8, patchLength: 8, dModel: 8, numLayers: 1,
                                                         decoderNumLayers: 1, decoderDModel: 8)), seed: 1)
        let mixer = try LoadedModel(config: .tsmixer(.init(seqLen: 32, predLen: 8, nFeatures: 2, nBlocks: 1, ffDim: 4)), seed: 1)
        for model in [ttm, mixer] {
            let path = folder.appendingPathComponent(model.config.kind.rawValue).path
            try ModelFolder.save(model, to: path)
            let back = try ModelFolder.load(path)
            XCTAssertEqual(try back.config.jsonData(), try model.config.jsonData())
            XCTAssertEqual(back.network.kind, model.config.kind.rawValue)
            XCTAssertEqual(Array(UnsafeBufferPointer(start: back.store.values, count: back.store.count)),
                           Array(UnsafeBufferPointer(start: model.store.values, count: model.store.count)), "every value, moving statistics included")
        }
        func refusal(_ json: String) -> String {
            do { _ = try ModelConfig(configJSON: Data(json.utf8), source: "config.json"); return "accepted" } catch { return "\(error)" }
        }
        XCTAssertTrue(refusal(#"{"model_type": "patchtst", "context_length": 32}"#).contains("'model_type'"))
        XCTAssertTrue(refusal(#"{"class_name": "LSTM", "config": {}}"#).contains("'class_name'"))
        XCTAssertTrue(refusal(#"{"class_name": "TSMixer", "config": {"seq_len": 8, "pred_len": 0}}"#).contains("'config.pred_len'"))
        XCTAssertTrue(refusal("[1]").contains("holds a JSON array, not an object"))
    }

    /// A fine-tuned TSMixer keeps its mixing layers (and their moving statistics) and trains the projection.
    func testTSMixerFineTuningFreezesTheMixingLayers() throws {
        let model = try LoadedModel(config: .tsmixer(.init(seqLen: 16, predLen: 4, nFeatures: 2, nBlocks: 2, ffDim: 4, dropout: 0.1)), seed: 3)
        model.network.freezeForFineTuning(model.store)
        let trainable = model.store.layout.views.filter { model.store.needsGradient($0) }.map(\.name)
        XCTAssertEqual(Set(trainable), ["output_projection.weight", "output_projection.bias"])
        var x = [Float](repeating: 0, count: 3 * 16 * 2)
        for i in x.indices { x[i] = sin(Float(i) * 0.37) }
        let before = Array(UnsafeBufferPointer(start: model.store.values, count: model.store.count))
        let dy = [Float](repeating: 0.1, count: 3 * 4 * 2)
        model.store.zeroGradients()
        _ = x.withUnsafeBufferPointer { model.network.forward($0.baseAddress!, batch: 3, mode: .training(.init(seed: 1, step: 0, firstSample: 0)), model.store) }
        dy.withUnsafeBufferPointer { model.network.backward($0.baseAddress!, model.store) }
        let after = Array(UnsafeBufferPointer(start: model.store.values, count: model.store.count))
        XCTAssertEqual(before, after, "a frozen BatchNorm does not move its statistics")
        for view in model.store.layout.views {
            let g = model.store.gradientArray(view)
            if view.name.hasPrefix("output_projection") { XCTAssertTrue(g.contains { $0 != 0 }, view.name) } else { XCTAssertTrue(g.allSatisfy { $0 == 0 }, view.name) }
        }
    }
}
