import Foundation
import HDF5

/// A prepared dataset: every shard of a folder written by `ttm prepare`, opened and checked. Windows are read
/// from it with one hyperslab read each.
public final class CorpusReader {
    public struct SeriesInfo: Sendable {
        public let shard: Int
        public let id: String
        /// First row in the shard's values dataset, and the number of rows.
        public let firstRow: Int
        public let length: Int
        /// Train, validation and test end rows, relative to the series start.
        public let ends: (Int, Int, Int)
        /// The last row's timestamp as the CSV wrote it, and the series' frequency (nil when unknown, as for
        /// shards written before ttm stored frequencies).
        public let lastTimestamp: String?
        public let frequency: Frequency?
        /// As `SeriesTable.Series.clock`.
        public var clock: (last: Timestamp, frequency: Frequency)? { Timestamp.clock(last: lastTimestamp, frequency: frequency) }
    }

    public let folder: String
    public let columns: [String]
    public let context: Int
    public let splitProtocol: String
    public let trainMean: [Double]
    public let trainStd: [Double]
    public let series: [SeriesInfo]
    private let values: [HDF5.Dataset]
    private let files: [HDF5.File]

    public var channels: Int { columns.count }

    public init(folder: String) throws {
        self.folder = folder
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: folder, isDirectory: &isDirectory) else { throw DataError("\(folder): no such folder") }
        let paths: [String]
        if isDirectory.boolValue {
            paths = try manager.contentsOfDirectory(atPath: folder)
                .filter { $0.hasPrefix(ShardSchema.filePrefix) && $0.hasSuffix(ShardSchema.fileSuffix) }.sorted()
                .map { URL(fileURLWithPath: folder).appendingPathComponent($0).path }
        } else {
            paths = [folder]
        }
        guard !paths.isEmpty else { throw DataError("\(folder): no shard files (\(ShardSchema.filePrefix)*\(ShardSchema.fileSuffix))") }
        var files: [HDF5.File] = [], values: [HDF5.Dataset] = [], series: [SeriesInfo] = []
        var columns: [String]? = nil, context = 0, protocolName = "", mean: [Double] = [], std: [Double] = []
        var firstFileOfSeries: [String: String] = [:], setSizes: [Int: String] = [:], partNumbers: [Int: String] = [:]
        for (shard, path) in paths.enumerated() {
            let file: HDF5.File
            do { file = try HDF5.File.open(path) } catch let error as HDF5Error {
                throw DataError("\(path): not a readable HDF5 shard (truncated or not HDF5?): \(error.message)")
            }
            guard file.attributes.contains("schema"), let schema = try? file.attributes.string("schema") else {
                throw DataError("\(path): not a ttm shard (no 'schema' attribute)")
            }
            guard schema == ShardSchema.schema else { throw DataError("\(path): shard schema '\(schema)', this ttm reads '\(ShardSchema.schema)'") }
            do {
                let shardColumns = try file.attributes.strings("columns")
                if let columns, columns != shardColumns {
                    throw DataError("\(path): columns \(shardColumns) differ from the other shards' \(columns)")
                }
                columns = shardColumns
                context = Int(try file.attributes.value("context", as: Int64.self))
                protocolName = try file.attributes.string("split_protocol")
                mean = try file.openDataset(ShardSchema.trainMean).read(as: Double.self)
                std = try file.openDataset(ShardSchema.trainStd).read(as: Double.self)
                // Scaling statistics drive the loss and the metrics: one finite value per channel, std not negative.
                guard mean.count == shardColumns.count, std.count == shardColumns.count else {
                    throw DataError("\(path): /train_mean and /train_std hold \(mean.count) and \(std.count) values for \(shardColumns.count) channels (corrupt shard)")
                }
                if let bad = shardColumns.indices.first(where: { !mean[$0].isFinite || !std[$0].isFinite || std[$0] < 0 }) {
                    throw DataError("\(path): channel '\(shardColumns[bad])' has train mean \(mean[bad]) and std \(std[bad]); expected finite values and a std ≥ 0 (corrupt shard)")
                }
                let ids = try file.attributes.strings("series_ids")
                let lastTimestamps = file.attributes.contains("last_timestamps") ? try file.attributes.strings("last_timestamps") : []
                let frequencies = file.attributes.contains("frequencies") ? try file.attributes.strings("frequencies") : []
                let offsets = try file.openDataset(ShardSchema.offsets).read(as: Int64.self)
                let splits = try file.openDataset(ShardSchema.splits).read(as: Int64.self)
                let data = try file.openDataset(ShardSchema.values)
                guard data.shape.count == 2, data.shape[1] == shardColumns.count else {
                    throw DataError("\(path): values has shape \(data.shape), expected [rows, \(shardColumns.count)]")
                }
                guard offsets.count == ids.count + 1, splits.count == 3 * ids.count, offsets.first == 0,
                      Int(offsets.last!) == data.shape[0], zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                    throw DataError("\(path): offsets, splits and series_ids disagree (corrupt shard)")
                }
                // The set must be whole: every file says how many parts there are and which one it is.
                if file.attributes.contains("shards"), file.attributes.contains("shard") {
                    let count = Int(try file.attributes.value("shards", as: Int64.self))
                    let number = Int(try file.attributes.value("shard", as: Int64.self))
                    setSizes[count] = path
                    if let twin = partNumbers[number] { throw DataError("\(path): part \(number) of the set, like \(twin): a part is duplicated") }
                    partNumbers[number] = path
                }
                for id in ids {
                    if let other = firstFileOfSeries[id] {
                        throw DataError("\(path): series '\(id)' is also in \(other) (series ids must be unique across the shard set)")
                    }
                    firstFileOfSeries[id] = path
                }
                for i in ids.indices {
                    let length = Int(offsets[i + 1] - offsets[i])
                    let ends = (Int(splits[3 * i]), Int(splits[3 * i + 1]), Int(splits[3 * i + 2]))
                    guard 0 <= ends.0, ends.0 <= ends.1, ends.1 <= ends.2, ends.2 <= length else {
                        throw DataError("\(path): series '\(ids[i])' has split ends \(ends) outside its \(length) rows")
                    }
                    series.append(SeriesInfo(shard: shard, id: ids[i], firstRow: Int(offsets[i]), length: length, ends: ends,
                                             lastTimestamp: lastTimestamps.count == ids.count ? lastTimestamps[i] : nil,
                                             frequency: frequencies.count == ids.count ? Frequency(parsing: frequencies[i]) : nil))
                }
                files.append(file)
                values.append(data)
            } catch let error as HDF5Error {
                throw DataError("\(path): corrupt shard: \(error.message)")
            }
        }
        if isDirectory.boolValue {
            if setSizes.count > 1 {
                throw DataError("\(folder): the shards disagree on how many parts the set has: \(setSizes.map { "\($0.key) (\($0.value))" }.sorted().joined(separator: ", "))")
            }
            if let (count, example) = setSizes.first, count != paths.count || Set(partNumbers.keys) != Set(0..<count) {
                let missing = (0..<count).filter { partNumbers[$0] == nil }
                throw DataError("\(folder): \(paths.count) shard file(s) but the set has \(count) parts (\(example))\(missing.isEmpty ? "" : "; missing part(s) \(missing.prefix(10).map(String.init).joined(separator: ", "))"): the folder is incomplete or mixed")
            }
        }
        self.columns = columns ?? []
        self.context = context
        self.splitProtocol = protocolName
        self.trainMean = mean
        self.trainStd = std
        self.series = series
        self.values = values
        self.files = files
    }

    /// Rows [row, row + count) of `series`, all channels, into `buffer` ([count, channels]).
    public func read(series index: Int, row: Int, count: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let info = series[index]
        precondition(row >= 0 && row + count <= info.length, "read outside series \(info.id)")
        try values[info.shard].read(offset: [info.firstRow + row, 0], count: [count, channels], into: buffer)
    }

    /// Rows [row, row + count) of one channel of `series` into `buffer` ([count]).
    public func read(series index: Int, channel: Int, row: Int, count: Int, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let info = series[index]
        precondition(row >= 0 && row + count <= info.length && channel < channels, "read outside series \(info.id)")
        try values[info.shard].read(offset: [info.firstRow + row, channel], count: [count, 1], into: buffer)
    }
}
