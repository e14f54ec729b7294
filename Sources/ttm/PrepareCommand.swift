import ArgumentParser
import Corpus
import Foundation

struct PrepareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Turn a CSV (or .tsf) of time series, or a folder of images, into HDF5 shards for training.",
        discussion: """
            Wide CSV: a timestamp column and value columns (like ETTh1). Long CSV: id column(s) naming the series, a \
            timestamp column, value columns; many series stacked. The output folder appears only when complete. \
            The shard layout is described in the README ("HDF5 shard schema"). With --images instead of --input: \
            MNIST / Fashion-MNIST IDX files (optionally .gz) or CIFAR-10 binary batches become one images.h5 with \
            train, validation and test splits (README, "HDF5 image schema").
            """)

    @Option(help: "The CSV file (or a Monash archive .tsf file).") var input: String?
    @Option(help: "A folder of IDX files (MNIST, Fashion-MNIST) or CIFAR-10 batches, or one IDX image file.") var images: String?
    @Option(help: "With --images: how many of the last training images form the validation split (default: a twelfth, 5000 of 60000).")
    var validationCount: Int?
    @Option(help: "Output folder for the shards (must not exist unless --overwrite).") var output: String
    @Option(help: "Timestamp column (default: date, timestamp, time or datetime, in any case, when present and not a --target-columns column).") var timestampColumn: String?
    @Flag(help: "No timestamp column: take the rows of each series in file order (for dates ttm does not parse, such as '1998 Q1').")
    var noTimestamp = false
    @Option(help: "Comma-separated id columns of a long-format CSV.") var idColumns: String?
    @Option(help: "Comma-separated value columns (default: all but timestamp and ids).") var targetColumns: String?
    @Option(help: "ratio:0.7,0.1,0.2 | rows:8640,11520,14400 | ett-hourly") var split: String = "ratio:0.7,0.1,0.2"
    @Option(help: "Context length: validation and test start this many rows before their split (default 512 for ett-hourly, else 0).")
    var context: Int?
    @Option(help: "Forecast horizon: with it, series too short for one context+horizon training window are counted, and all too short is an error.")
    var horizon: Int?
    @Option(help: "What to do with a missing value: error (the message names file, line and column), ffill (carry the last value forward) or drop (leave the series out).") var missing: MissingValuePolicy = .error
    @Option(help: "Where timestamps skip steps of the series' frequency: error (the message names both lines), ffill (insert the skipped timestamps with the last values) or ignore (keep the rows as they are).")
    var gaps: GapPolicy = .error
    @Option(help: "Keep every series at 1/K of its resolution: the mean of each block of K rows, stamped with the block's last timestamp (for pretraining corpora with several resolutions).")
    var downsample: Int = 1
    @Option(help: "Largest shard, in MB of values.") var shardSizeMb: Double = 256
    @Flag(help: "Replace an existing output folder.") var overwrite = false

    func validate() throws {
        guard (input == nil) != (images == nil) else { throw ValidationError("give exactly one of --input (a CSV) and --images") }
        if let validationCount, validationCount < 0 { throw ValidationError("--validation-count must not be negative") }
        if noTimestamp, timestampColumn != nil { throw ValidationError("give --timestamp-column or --no-timestamp, not both") }
        // Options that name CSV columns mean nothing to images or to a .tsf file (which names its own fields).
        let columnOptions = [("--timestamp-column", timestampColumn), ("--id-columns", idColumns), ("--target-columns", targetColumns)]
        if images != nil {
            let csvOnly = columnOptions + [("--context", context.map(String.init)), ("--horizon", horizon.map(String.init))]
            if let given = csvOnly.first(where: { $0.1 != nil }) { throw ValidationError("\(given.0) applies to a CSV (--input), not to --images") }
        } else if validationCount != nil {
            throw ValidationError("--validation-count applies to --images; a CSV is split by --split")
        }
        if input?.lowercased().hasSuffix(".tsf") == true, let given = columnOptions.first(where: { $0.1 != nil }) {
            throw ValidationError("\(given.0) applies to a CSV; a .tsf file names its own fields")
        }
        guard shardSizeMb > 0 else { throw ValidationError("--shard-size-mb must be positive") }
        guard (1...10_000).contains(downsample) else { throw ValidationError("--downsample must be between 1 and 10000 (got \(downsample))") }
        if images != nil && downsample != 1 { throw ValidationError("--downsample applies to series (--input), not to --images") }
        if let context, context < 0 { throw ValidationError("--context must not be negative") }
        if let horizon, horizon < 1 { throw ValidationError("--horizon must be at least 1") }
    }

    /// A split the protocol asks for but that is empty in every series is an error (rows: ends beyond the
    /// data); splits clipped or emptied in some series only are reported, never passed over in silence.
    func checkSplits(_ table: SeriesTable, _ splitProtocol: SplitProtocol, source input: String) throws {
        let ends = table.series.map { splitProtocol.ends(length: $0.length) }
        let requested: (validation: Bool, test: Bool) = switch splitProtocol {
        case .ratio(_, let v, let t): (v > 0, t > 0)
        case .rows(let a, let b, let c): (b > a, c > b)
        }
        let longest = table.series.map(\.length).max() ?? 0
        for (name, wanted, empty) in [("validation", requested.validation, ends.filter { $0.1 <= $0.0 }.count),
                                      ("test", requested.test, ends.filter { $0.2 <= $0.1 }.count)] where wanted && empty > 0 {
            if empty == ends.count {
                throw DataError("\(input): --split \(splitProtocol) leaves the \(name) split empty in every series (the longest has \(longest) rows)")
            }
            print("prepare: note: the \(name) split is empty in \(empty) of \(ends.count) series (too short for --split \(splitProtocol))")
        }
        if case .rows(_, _, let testEnd) = splitProtocol {
            let clipped = table.series.filter { $0.length < testEnd }.count
            if clipped > 0 { print("prepare: note: \(clipped) of \(ends.count) series end before row \(testEnd) (the --split test end); their splits were clipped to their length") }
        }
    }

    func run() throws {
        guard let input else { return try prepareImages(images!) }
        let splitProtocol = try SplitProtocol(parsing: split)
        let list: (String?) -> [String]? = { $0.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } } }
        let options = PrepareOptions(
            layout: .init(timestampColumn: timestampColumn, idColumns: list(idColumns) ?? [], targetColumns: list(targetColumns),
                          findsTimestamp: !noTimestamp),
            split: splitProtocol, context: context ?? (split == "ett-hourly" ? 512 : 0),
            missing: missing, gaps: gaps, shardBytes: Int(shardSizeMb * 1_048_576), overwrite: overwrite)
        let read = try SeriesTable.read(input, layout: options.layout, missing: options.missing, gaps: options.gaps)
        let table = read.downsampled(by: downsample)
        if table.series.isEmpty { throw DataError("\(input): every series is shorter than --downsample \(downsample) rows") }
        if downsample > 1 { print("prepare: downsampled by \(downsample): \(read.series.first?.length ?? 0) -> \(table.series.first?.length ?? 0) rows in the first series") }
        if let horizon {
            let window = options.context + horizon
            let short = table.series.filter { splitProtocol.ends(length: $0.length).0 < window }
            if short.count == table.series.count {
                throw DataError("\(input): all \(short.count) series are too short for one training window of \(window) rows (context \(options.context) + horizon \(horizon))")
            }
            if !short.isEmpty { print("prepare: \(short.count) series shorter than one training window (\(window) rows) will be skipped by training") }
        }
        try checkSplits(table, splitProtocol, source: input)
        let report = try Prepare.write(table, source: input, output: output, options: options)
        print("prepare: \(report.series) series, \(report.rows) rows, \(report.channels.count) channels (\(report.channels.joined(separator: ", "))) -> \(report.shards) shard(s) in \(output)")
        let frequencies = report.frequencies.map { $0.0.isEmpty ? "none (\($0.1))" : "\($0.0) (\($0.1))" }
        print("prepare: frequency \(frequencies.joined(separator: ", "))")
        if !report.droppedForMissingValues.isEmpty {
            print("prepare: dropped \(report.droppedForMissingValues.count) series with missing values: \(report.droppedForMissingValues.prefix(10).joined(separator: ", "))")
        }
        print("prepare: split \(splitProtocol), context \(options.context); train mean \(report.trainMean.map { String(format: "%.4g", $0) }), std (population) \(report.trainStd.map { String(format: "%.4g", $0) })")
    }
}

extension PrepareCommand {
    func prepareImages(_ source: String) throws {
        let (train, test) = try ImageFiles.read(source)
        let held = validationCount ?? train.count / 12
        try ImageShards.write(train: train, test: test, validation: held, source: source, output: output, overwrite: overwrite)
        let classes = (train.labels?.max()).map { "\($0 + 1) classes" } ?? "no labels"
        print("prepare: \(train.count - held) train, \(held) validation, \(test?.count ?? 0) test images of \(train.height)x\(train.width)x\(train.channels), \(classes) -> \(output)/\(ImageShards.file)")
    }
}

extension MissingValuePolicy: ExpressibleByArgument {}
extension GapPolicy: ExpressibleByArgument {}
