import Foundation
import Checkpoint
import HDF5

/// The on-disk layout (see README, "HDF5 shard schema"). Bump `schema` when it changes.
public enum ShardSchema {
    public static let schema = "ttm-shard/1"
    public static let values = "values"            // float32 [rows, channels], all series of the shard stacked
    public static let offsets = "offsets"          // int64 [series + 1], first row of each series, then the end
    public static let splits = "splits"            // int64 [series, 3], train/validation/test end rows per series
    public static let trainMean = "train_mean"     // float64 [channels], over the train rows of the whole dataset
    public static let trainStd = "train_std"       // float64 [channels], population standard deviation, same rows
    public static let filePrefix = "part-"
    public static let fileSuffix = ".h5"
}

/// `ttm prepare`: CSV to HDF5 shards.
public struct PrepareOptions: Sendable {
    public var layout: SeriesTable.Layout
    public var split: SplitProtocol
    public var context: Int
    public var missing: MissingValuePolicy
    public var gaps: GapPolicy
    /// Upper bound of one shard's value data, in bytes (a longer single series gets a shard of its own).
    public var shardBytes: Int
    public var overwrite: Bool
    public init(layout: SeriesTable.Layout = .init(), split: SplitProtocol = .ratio(train: 0.7, validation: 0.1, test: 0.2),
                context: Int = 0, missing: MissingValuePolicy = .error, gaps: GapPolicy = .error, shardBytes: Int = 256 << 20, overwrite: Bool = false) {
        self.layout = layout
        self.split = split
        self.context = context
        self.missing = missing
        self.gaps = gaps
        self.shardBytes = shardBytes
        self.overwrite = overwrite
    }
}

public struct PrepareReport: Sendable {
    public var series: Int
    public var rows: Int
    public var channels: [String]
    public var shards: Int
    public var droppedForMissingValues: [String]
    public var trainMean: [Double]
    public var trainStd: [Double]
    /// Each distinct series frequency and how many series have it ("" for none).
    public var frequencies: [(String, Int)]
}

public enum Prepare {
    /// Reads `csv` (or a .tsf file), writes shards into `output` atomically: everything is written into a temporary sibling
    /// folder that is renamed to `output` only when complete; on any error it is removed.
    public static func run(csv: String, output: String, options: PrepareOptions) throws -> PrepareReport {
        let table = try SeriesTable.read(csv, layout: options.layout, missing: options.missing, gaps: options.gaps)
        return try write(table, source: csv, output: output, options: options)
    }

    public static func write(_ table: SeriesTable, source: String, output: String, options: PrepareOptions) throws -> PrepareReport {
        try AtomicFile.checkOutput(output, overwrite: options.overwrite, inputs: [source], option: "output")
        let stats = trainStatistics(table, split: options.split)
        // Group series into shards of at most `shardBytes` of values.
        var groups: [[Int]] = [[]]
        var bytes = 0
        for (index, series) in table.series.enumerated() {
            let size = series.values.count * 4
            if !groups[groups.count - 1].isEmpty && bytes + size > options.shardBytes { groups.append([]); bytes = 0 }
            groups[groups.count - 1].append(index)
            bytes += size
        }
        do {
            try AtomicDirectory.write(output) { folder in
                for (shard, members) in groups.enumerated() {
                    let name = String(format: "%@%05d%@", ShardSchema.filePrefix, shard, ShardSchema.fileSuffix)
                    try writeShard(folder.appendingPathComponent(name).path, table: table, members: members, shard: shard,
                                   shards: groups.count, stats: stats, source: source, options: options)
                }
            }
        } catch let error as HDF5Error {
            throw DataError(error.message)
        } catch let error as CheckpointError {
            throw DataError(error.description)
        }
        return PrepareReport(series: table.series.count, rows: table.series.reduce(0) { $0 + $1.length }, channels: table.columns,
                             shards: groups.count, droppedForMissingValues: table.droppedForMissingValues,
                             trainMean: stats.mean, trainStd: stats.std,
                             frequencies: Dictionary(grouping: table.series, by: { $0.frequency?.description ?? "" })
                                .map { ($0.key, $0.value.count) }.sorted { $0.1 > $1.1 })
    }

    /// Per-channel mean and population standard deviation over the train rows of every series, two passes in
    /// Double.
    static func trainStatistics(_ table: SeriesTable, split: SplitProtocol) -> (mean: [Double], std: [Double]) {
        let c = table.columns.count
        var sum = [Double](repeating: 0, count: c), count = 0
        for series in table.series {
            let end = split.ends(length: series.length).0
            for t in 0..<end { for k in 0..<c { sum[k] += Double(series.values[t * c + k]) } }
            count += end
        }
        let mean = sum.map { $0 / Double(max(count, 1)) }
        var squares = [Double](repeating: 0, count: c)
        for series in table.series {
            let end = split.ends(length: series.length).0
            for t in 0..<end { for k in 0..<c { let d = Double(series.values[t * c + k]) - mean[k]; squares[k] += d * d } }
        }
        return (mean, squares.map { ($0 / Double(max(count, 1))).squareRoot() })
    }

    private static func writeShard(_ path: String, table: SeriesTable, members: [Int], shard: Int, shards: Int,
                                   stats: (mean: [Double], std: [Double]), source: String, options: PrepareOptions) throws {
        let c = table.columns.count
        let rows = members.reduce(0) { $0 + table.series[$1].length }
        let file = try File.create(path)
        // 16 KB chunks: a pretraining window (608 rows of one channel) inflates 2-3 of them. 64 KB chunks read
        // 2,643 random windows/s from the 1 GB synthetic corpus (`ttm bench data`), 16 KB ones 3,682; ETTh1's
        // shard grows 7% (worse compression of smaller blocks).
        let values = try file.createDataset(ShardSchema.values, of: Float.self, shape: [rows, c],
                                            chunks: [max(1, min(rows, max(1, 4096 / c))), c], deflateLevel: 4)
        var offsets: [Int64] = [0], splits: [Int64] = []
        var row = 0
        for index in members {
            let series = table.series[index]
            try values.write(series.values, offset: [row, 0], count: [series.length, c])
            row += series.length
            offsets.append(Int64(row))
            let ends = options.split.ends(length: series.length)
            splits += [Int64(ends.0), Int64(ends.1), Int64(ends.2)]
        }
        try file.createDataset(ShardSchema.offsets, of: Int64.self, shape: [offsets.count]).write(offsets)
        try file.createDataset(ShardSchema.splits, of: Int64.self, shape: [members.count, 3]).write(splits)
        try file.createDataset(ShardSchema.trainMean, of: Double.self, shape: [c]).write(stats.mean)
        try file.createDataset(ShardSchema.trainStd, of: Double.self, shape: [c]).write(stats.std)
        let a = file.attributes
        try a.set("schema", to: ShardSchema.schema)
        try a.set("columns", to: table.columns)
        try a.set("series_ids", to: members.map { table.series[$0].id })
        try a.set("first_timestamps", to: members.map { table.series[$0].timestamps.first ?? "" })
        try a.set("last_timestamps", to: members.map { table.series[$0].timestamps.last ?? "" })
        try a.set("split_protocol", to: options.split.description)
        try a.set("context", to: Int64(options.context))
        try a.set("std_kind", to: "population")
        try a.set("frequencies", to: members.map { table.series[$0].frequency?.description ?? "" })
        try a.set("missing_values", to: options.missing.rawValue)
        try a.set("gaps", to: options.gaps.rawValue)
        try a.set("source", to: source)
        try a.set("shard", to: Int64(shard))
        try a.set("shards", to: Int64(shards))
        try file.close()
    }
}
