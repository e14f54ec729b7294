import Corpus
import Flow
import Foundation
import NN

/// One split of an image shard file (`ttm-images/1`) as flow training samples: each image dequantised into the
/// flow's input, x [height · width · channels] followed by the dequantisation's log-determinant (`FlowModel`).
/// The split is held in memory as bytes (Fashion-MNIST's training split: 47 MB).
///
/// The dequantisation noise is keyed by (seed, step, image index), so an image gets fresh noise every step it is
/// drawn and every rank draws the same noise for it; evaluation passes one fixed step, so it is repeatable.
public final class ImageSource: SampleSource {
    public let path: String
    public let split: String
    public let count: Int
    public let height: Int, width: Int, channels: Int, classes: Int
    public let labels: [Int64]?
    public var dimensions: Int { height * width * channels }
    let pixels: [UInt8]
    let seed: UInt64

    /// Noise stream site: apart from every dropout site (which count up from 0).
    static let noiseSite: UInt32 = 0x4445_5155

    public init(folder: String, split: String, seed: UInt64) throws {
        let reader = try ImageShardReader(folder: folder)
        path = reader.path
        self.split = split
        self.seed = seed
        count = reader.counts[split] ?? 0
        (height, width, channels, classes) = (reader.height, reader.width, reader.channels, reader.classes)
        pixels = count > 0 ? try reader.images(split, 0..<count) : []
        labels = count > 0 ? try reader.labels(split, 0..<count) : nil
    }

    /// Refuses a model whose image shape is not this file's, naming the key.
    public func check(height h: Int, width w: Int, channels c: Int) throws {
        guard (h, w, c) == (height, width, channels) else {
            throw ConfigError(key: "model.height/width/channels", message: "\(h) x \(w) x \(c), but \(path) holds \(height) x \(width) x \(channels) images")
        }
    }

    public func load<Samples: Sequence<Int>>(_ ids: Samples, step: Int, into batch: WindowBatch) throws {
        let d = dimensions
        precondition(batch.pastCount == d + 1, "batch shaped for another source")
        let noise = RandomStream(seed: seed, step: UInt32(truncatingIfNeeded: step), site: Self.noiseSite)
        var slot = 0
        try pixels.withUnsafeBufferPointer { all in
            for id in ids {
                guard id >= 0, id < count else { throw DataError("\(path): image \(id) is outside the \(count) of '\(split)'") }
                precondition(slot < batch.capacity, "more images than the batch holds (\(batch.capacity))")
                let x = batch.past + slot * (d + 1)
                var logdet: Float = 0
                Dequantization.continuous(all.baseAddress! + id * d, count: d, image: id, noise: noise, into: x, logdet: &logdet)
                x[d] = logdet
                slot += 1
            }
        }
        batch.count = slot
    }
}
