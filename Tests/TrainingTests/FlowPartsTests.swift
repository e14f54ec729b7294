import Corpus
import CZlib
import Flow
import Foundation
import Models
import NN
@testable import Training
import XCTest

/// The pieces flow evaluation and sampling stand on: the closed-form linear probe, the PNG encoder, the flow's
/// engine contract (loss and its gradient) and the flow configs' round trip through config.json.
final class FlowPartsTests: XCTestCase {
    /// Two Gaussian blobs per class in 5 dimensions, well apart: the probe separates them; shuffled labels it
    /// cannot (chance is 1/3).
    func testLinearProbeSeparatesSeparableClassesAndNotNoise() {
        var generator = SplitMix64(seed: 4)
        func sample(_ n: Int, shuffled: Bool) -> ([Float], [Int64]) {
            var features: [Float] = [], labels: [Int64] = []
            for i in 0..<n {
                let label = i % 3
                for j in 0..<5 { features.append(Float(j == label ? 4 : 0) + generator.nextUnitFloat() - 0.5) }
                labels.append(Int64(shuffled ? Int(generator.next() % 3) : label))
            }
            return (features, labels)
        }
        let (train, trainLabels) = sample(300, shuffled: false), (test, testLabels) = sample(150, shuffled: false)
        XCTAssertEqual(LinearProbe(features: train, labels: trainLabels, dimensions: 5, classes: 3).accuracy(features: test, labels: testLabels), 1)
        let (noise, noiseLabels) = sample(300, shuffled: true), (other, otherLabels) = sample(3000, shuffled: true)
        let chance = LinearProbe(features: noise, labels: noiseLabels, dimensions: 5, classes: 3).accuracy(features: other, labels: otherLabels)
        XCTAssertLessThan(chance, 0.42)
    }

    /// Cholesky solve against a system with a known answer.
    func testProbeSolverSolvesASymmetricSystem() {
        let g: [Double] = [4, 2, 0.5, 2, 5, 1, 0.5, 1, 3], x: [Double] = [1, -2, 0.5, 3, 0, -1]  // x [3, 2]
        var r = [Double](repeating: 0, count: 6)
        for i in 0..<3 { for c in 0..<2 { for k in 0..<3 { r[i * 2 + c] += g[i * 3 + k] * x[k * 2 + c] } } }
        for (a, b) in zip(LinearProbe.solve(g, r, p: 3, columns: 2), x) { XCTAssertEqual(a, b, accuracy: 1e-12) }
    }

    /// The PNG's chunks carry correct CRCs and its IDAT inflates to the filtered scanlines of the pixels.
    func testPNGHoldsTheScanlines() throws {
        let width = 5, height = 3
        let pixels = (0..<(width * height * 3)).map { UInt8(truncatingIfNeeded: $0 * 17) }
        let png = [UInt8](try PNG.encode(pixels, width: width, height: height, channels: 3))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var offset = 8, chunks: [String: [UInt8]] = [:]
        while offset < png.count {
            let length = png[offset..<(offset + 4)].reduce(0) { $0 << 8 | Int($1) }
            let typed = Array(png[(offset + 4)..<(offset + 8 + length)])
            let crc = png[(offset + 8 + length)..<(offset + 12 + length)].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            XCTAssertEqual(crc, typed.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) })
            chunks[String(decoding: typed.prefix(4), as: UTF8.self)] = Array(typed.dropFirst(4))
            offset += 12 + length
        }
        XCTAssertEqual(chunks["IHDR"], [0, 0, 0, 5, 0, 0, 0, 3, 8, 2, 0, 0, 0])
        let idat = try XCTUnwrap(chunks["IDAT"])
        var size = uLong(height * (width * 3 + 1))
        var raw = [UInt8](repeating: 0, count: Int(size))
        XCTAssertEqual(uncompress(&raw, &size, idat, uLong(idat.count)), Z_OK)
        for row in 0..<height {
            XCTAssertEqual(raw[row * 16], 0)
            XCTAssertEqual(Array(raw[(row * 16 + 1)..<(row * 16 + 16)]), Array(pixels[(row * 15)..<(row * 15 + 15)]))
        }
        XCTAssertEqual(chunks["IEND"], [])
    }

    /// FlowModel's loss is the bits/dim of Dequantization, and its gradient matches central differences of it.
    func testFlowModelLossAndItsGradient() throws {
        let config = ModelConfig.mixerflow({ var c = MixerFlowConfig(height: 8, width: 8, channels: 1); c.steps = 1; c.shiftEvery = 0; c.channelHidden = 8; c.patchHidden = 8; return c }())
        let model = try LoadedModel(config: config, seed: 2)
        let flow = try XCTUnwrap(model.network as? FlowModel)
        XCTAssertEqual(flow.inputCount, 65)
        XCTAssertEqual(flow.lossTerms, 1)
        var generator = SplitMix64(seed: 9)
        let output = (0..<(2 * 65)).map { _ in generator.nextUnitFloat() * 2 - 1 }
        var gradient = [Float](repeating: 0, count: 130)
        let sum = flow.lossSum(output: output, target: output, weights: nil, samples: 2, scale: 1, gradient: &gradient)
        let direct = Dequantization.bitsPerDimension(z: output, logdet: [output[64], output[129]], batch: 1, dimensions: 64)
        XCTAssertEqual(sum - direct, Dequantization.bitsPerDimension(z: Array(output[65..<129]), logdet: [output[129]], batch: 1, dimensions: 64), accuracy: 1e-9)
        for i in [0, 30, 64, 65, 129] {
            var plus = output, minus = output
            plus[i] += 1e-2
            minus[i] -= 1e-2
            let numeric = (flow.lossSum(output: plus, target: plus, weights: nil, samples: 2, scale: 0, gradient: nil)
                           - flow.lossSum(output: minus, target: minus, weights: nil, samples: 2, scale: 0, gradient: nil)) / 2e-2
            XCTAssertEqual(Double(gradient[i]), numeric, accuracy: 1e-5 + 1e-3 * abs(numeric), "element \(i)")
        }
    }

    /// A flow's config.json names its kind and every key; it reads back to the same architecture.
    func testFlowConfigsRoundTripThroughConfigJSON() throws {
        var mixer = MixerFlowConfig(height: 32, width: 32, channels: 3)
        mixer.steps = 6
        mixer.shiftEvery = 3
        var glow = GlowConfig(height: 32, width: 32, channels: 3)
        glow.levels = 3
        for config in [ModelConfig.mixerflow(mixer), .glow(glow)] {
            let data = try config.jsonData()
            XCTAssertEqual(try ModelConfig(configJSON: data, source: "config.json"), config)
            XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"model_type\" : \"\(config.kind.rawValue)\""))
        }
    }
}
