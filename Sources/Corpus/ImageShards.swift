import Checkpoint
import Foundation
import HDF5

/// Prepared images (see README, "HDF5 image schema"): one file `images.h5` in the output folder with a group per
/// split (`train`, `validation`, `test`), each holding `images` uint8 [n, height, width, channels] and, when the
/// source had them, `labels` int64 [n].
public enum ImageShards {
    public static let schema = "ttm-images/1"
    public static let file = "images.h5"
    public static let splits = ["train", "validation", "test"]

    /// Writes `train` (its last `validation` images held out as the validation split) and `test` into `output`,
    /// which appears whole or not at all.
    public static func write(train: ImageSet, test: ImageSet?, validation: Int, source: String, output: String, overwrite: Bool) throws {
        try AtomicFile.checkOutput(output, overwrite: overwrite, inputs: [source], option: "output")
        guard validation >= 0, validation < train.count else {
            throw DataError("\(source): --validation-count \(validation) leaves no training images (the train set has \(train.count))")
        }
        if let test, (test.height, test.width, test.channels) != (train.height, train.width, train.channels) || (test.labels == nil) != (train.labels == nil) {
            throw DataError("\(source): test images are \(test.height)x\(test.width)x\(test.channels)\(test.labels == nil ? " without labels" : ""), train images \(train.height)x\(train.width)x\(train.channels)\(train.labels == nil ? " without labels" : "")")
        }
        let parts = [("train", train.slice(0..<(train.count - validation))), ("validation", train.slice((train.count - validation)..<train.count)),
                     ("test", test ?? train.slice(0..<0))]
        do {
            try AtomicDirectory.write(output) { folder in
                let file = try HDF5.File.create(folder.appendingPathComponent(Self.file).path)
                for (name, set) in parts {
                    let group = try file.createGroup(name)
                    let shape = [set.count, set.height, set.width, set.channels]
                    // (An empty split cannot be chunked: HDF5 wants chunks no larger than a fixed-size dataset.)
                    let images = try group.createDataset("images", of: UInt8.self, shape: shape,
                                                         chunks: set.count == 0 ? nil : [min(set.count, 256), set.height, set.width, set.channels],
                                                         deflateLevel: set.count == 0 ? nil : 4)
                    if set.count > 0 { try images.write(set.pixels) }
                    if let labels = set.labels {
                        let dataset = try group.createDataset("labels", of: Int64.self, shape: [set.count])
                        if set.count > 0 { try dataset.write(labels) }
                    }
                }
                let a = file.attributes
                try a.set("schema", to: Self.schema)
                try a.set("height", to: Int64(train.height))
                try a.set("width", to: Int64(train.width))
                try a.set("channels", to: Int64(train.channels))
                try a.set("classes", to: Int64((train.labels?.max() ?? -1) + 1))
                try a.set("source", to: source)
                try file.close()
            }
        } catch let error as HDF5Error {
            throw DataError(error.message)
        } catch let error as CheckpointError {
            throw DataError(error.description)
        }
    }
}

/// A prepared image folder, opened and checked against its own metadata; images are read by index.
public final class ImageShardReader {
    public let path: String
    public let height: Int, width: Int, channels: Int, classes: Int
    /// Images per split (train, validation, test).
    public let counts: [String: Int]
    private let file: HDF5.File

    public init(folder: String) throws {
        path = URL(fileURLWithPath: folder).appendingPathComponent(ImageShards.file).path
        guard FileManager.default.fileExists(atPath: path) else { throw DataError("\(folder): no \(ImageShards.file) (prepare it with ttm prepare --images)") }
        do { file = try HDF5.File.open(path) } catch let error as HDF5Error {
            throw DataError("\(path): not a readable HDF5 file (truncated?): \(error.message)")
        }
        do {
            guard file.attributes.contains("schema"), try file.attributes.string("schema") == ImageShards.schema else {
                throw DataError("\(path): not a \(ImageShards.schema) file")
            }
            height = Int(try file.attributes.value("height", as: Int64.self))
            width = Int(try file.attributes.value("width", as: Int64.self))
            channels = Int(try file.attributes.value("channels", as: Int64.self))
            classes = Int(try file.attributes.value("classes", as: Int64.self))
            var counts: [String: Int] = [:]
            for split in ImageShards.splits {
                let images = try file.openGroup(split).openDataset("images")
                guard images.shape.count == 4, Array(images.shape[1...]) == [height, width, channels] else {
                    throw DataError("\(path): /\(split)/images has shape \(images.shape), the file says [n, \(height), \(width), \(channels)]")
                }
                counts[split] = images.shape[0]
            }
            self.counts = counts
        } catch let error as HDF5Error {
            throw DataError("\(path): corrupt image file: \(error.message)")
        }
    }

    /// Images `range` of `split`, [n, height, width, channels].
    public func images(_ split: String, _ range: Range<Int>) throws -> [UInt8] {
        guard let count = counts[split], range.lowerBound >= 0, range.upperBound <= count else {
            throw DataError("\(path): images \(range) of '\(split)' are outside its \(counts[split] ?? 0)")
        }
        return try file.openGroup(split).openDataset("images")
            .read(offset: [range.lowerBound, 0, 0, 0], count: [range.count, height, width, channels], as: UInt8.self)
    }

    /// Labels `range` of `split`, or nil when the images came without labels.
    public func labels(_ split: String, _ range: Range<Int>) throws -> [Int64]? {
        let group = try file.openGroup(split)
        guard group.contains("labels") else { return nil }
        return try group.openDataset("labels").read(offset: [range.lowerBound], count: [range.count], as: Int64.self)
    }
}
