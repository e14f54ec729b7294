import Foundation
import XCTest
@testable import NN
@testable import TSMixer

final class ConfigRoundTripTests: XCTestCase {
    private func output(of layer: SequenceLayer, store: ParameterStore, input: [Float], batch: Int) -> [Float] {
        input.withUnsafeBufferPointer { x in
            Array(UnsafeBufferPointer(start: layer.forward(x.baseAddress!, batch: batch, mode: .inference, store),
                                      count: batch * layer.outputLength * layer.channels))
        }
    }

    /// Encoding a config and decoding it rebuilds a model that, given the same weights, computes the same.
    func testTSMixerConfigRoundTrips() throws {
        let config = TSMixer.Config(seqLen: 10, predLen: 3, nFeatures: 2, nBlocks: 3, ffDim: 7, dropout: 0.25, useNorm: true, normAffine: true)
        let json = try JSONEncoder().encode(config)
        let text = String(decoding: json, as: UTF8.self)
        for key in ["seq_len", "pred_len", "n_features", "n_blocks", "ff_dim", "dropout", "use_norm", "norm_affine"] {
            XCTAssertTrue(text.contains("\"\(key)\""), "encoded config lacks \(key): \(text)")
        }
        let decoded = try JSONDecoder().decode(TSMixer.Config.self, from: json)
        XCTAssertEqual(decoded, config)

        let original = try TSMixer(config: config), rebuilt = try TSMixer(config: decoded)
        XCTAssertEqual(original.layout.views, rebuilt.layout.views)
        let a = ParameterStore(layout: original.layout), b = ParameterStore(layout: rebuilt.layout)
        randomize(a, seed: 4)
        b.values.update(from: a.values, count: a.count)
        var g = Lcg(seed: 5)
        let input = g.array(2 * 10 * 2)
        XCTAssertEqual(output(of: original, store: a, input: input, batch: 2), output(of: rebuilt, store: b, input: input, batch: 2))
    }

    func testLayerConfigsRoundTrip() throws {
        let temporal = TemporalMixing.Config(nSeries: 3, inputSize: 12, dropout: 0.1)
        XCTAssertEqual(try JSONDecoder().decode(TemporalMixing.Config.self, from: JSONEncoder().encode(temporal)), temporal)
        let feature = FeatureMixing.Config(nSeries: 3, inputSize: 12, dropout: 0.1, ffDim: 5)
        XCTAssertEqual(try JSONDecoder().decode(FeatureMixing.Config.self, from: JSONEncoder().encode(feature)), feature)
    }

    /// KerasFactory's own get_config() output (from the fixture manifest) decodes into our configs.
    func testDecodesKerasGetConfig() throws {
        let json = #"{"dropout": 0.0, "ff_dim": 5, "n_blocks": 2, "n_features": 3, "norm_affine": true, "pred_len": 4, "seq_len": 12, "use_norm": true}"#
        let config = try JSONDecoder().decode(TSMixer.Config.self, from: Data(json.utf8))
        XCTAssertEqual(config, TSMixer.Config(seqLen: 12, predLen: 4, nFeatures: 3, nBlocks: 2, ffDim: 5, dropout: 0, useNorm: true, normAffine: true))
    }

    func testInvalidValuesNameTheKey() {
        XCTAssertThrowsError(try TSMixer(config: .init(seqLen: 0, predLen: 4, nFeatures: 3))) {
            XCTAssertTrue(String(describing: $0).contains("'seq_len'"), "\($0)")
        }
        XCTAssertThrowsError(try TSMixer(config: .init(seqLen: 8, predLen: 4, nFeatures: 3, dropout: 1.5))) {
            XCTAssertTrue(String(describing: $0).contains("'dropout'"), "\($0)")
        }
    }
}
