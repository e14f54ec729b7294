import ArgumentParser
import Checkpoint
import Corpus
import Foundation
import Models
import NN

struct Forecast: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forecast with a model folder (TTM or TSMixer): past values in, predictions out.",
        discussion: """
            --input is a NumPy float32 array [batch, context, channels] (or [context, channels] for one series), \
            or a CSV of one series: a header row, an optional timestamp column, one numeric column per channel; \
            the last context_length rows are used. --output gets [batch, horizon, channels] as .npy, or a CSV \
            table (one row per horizon step) when it ends in .csv. Many series at once: a long CSV with \
            --id-columns, or a prepared folder (ttm prepare): the last window of every series is forecast, a \
            batch at a time, into one CSV (series, step, timestamp from the series' frequency, one column per \
            channel); series shorter than the context are skipped and counted.
            """)

    @Option(help: "A model folder (config.json + model.safetensors): ours, one saved by granite-tsfm, or a Keras TSMixer folder.")
    var checkpoint: String

    @Option(help: "Past values: .npy [batch, context, channels], a .csv of one series, a long .csv with --id-columns, or a prepared folder.")
    var input: String

    @Option(help: "Comma-separated id columns of a long CSV: forecast every series in it.")
    var idColumns: String?

    @Option(help: "Where to write the forecast (.npy, or .csv).")
    var output: String

    @Option(help: "Timestamp column of a CSV input (default: date, timestamp, time or datetime in any case, when present).")
    var timestampColumn: String?

    @Option(help: "Series per forward pass.")
    var batchSize: Int = 256

    @Flag(help: "Replace --output if it exists.") var overwrite = false

    @Option(help: "Missing values in a CSV input: error (the message names file, line and column) or ffill (carry the last value forward).")
    var missing: MissingValuePolicy = .error

    @Option(help: "Skipped timestamps in a CSV input: error (the message names both lines), ffill (insert them with the last values) or ignore.")
    var gaps: GapPolicy = .error

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
        guard missing != .drop else { throw ValidationError("--missing drop would leave no series to forecast; use error or ffill") }
    }

    func run() throws {
        try AtomicFile.checkOutput(output, overwrite: overwrite, inputs: [input], option: "--output")
        let folder = try ModelFolder.load(checkpoint)
        if idColumns != nil || PathKind(input) == .folder { return try forecastEverySeries(folder) }
        let (past, columns, clock) = try PastValues.read(input, contextLength: try folder.forecaster(checkpoint).contextLength, timestampColumn: timestampColumn,
                                                          missing: missing, gaps: gaps)
        // A channel-independent model forecasts any number of channels (as PyTorch runs it); one that mixes
        // channels is refused with the key named.
        let loaded = try folder.fitted(toChannels: past.shape[2], what: "\(checkpoint) on \(input)")
        let model = try loaded.forecaster(checkpoint), store = loaded.store
        let batch = past.shape[0]
        let inputStride = model.inputCount, outputStride = model.outputCount
        var predictions = [Float](repeating: 0, count: batch * outputStride)
        past.values.withUnsafeBufferPointer { x in
            var start = 0
            while start < batch {
                let n = min(batchSize, batch - start)
                let y = model.forward(x.baseAddress! + start * inputStride, batch: n, mode: .inference, store)
                for i in 0..<(n * outputStride) { predictions[start * outputStride + i] = y[i] }
                start += n
            }
        }
        let horizon = model.predictionLength, channels = model.channels
        let result = NumPyArray(shape: [batch, horizon, channels], values: predictions)
        if output.lowercased().hasSuffix(".csv") {
            // (CleanExit would end with status 0: this is a failure.)
            guard batch == 1 else { throw DataError("\(output): a .csv output holds one series; this input has \(batch): use .npy") }
            // With a timestamp column, each step also gets its time: the last input time plus steps of the
            // input's frequency, written in the input's style.
            var text = (["step"] + (clock.map { [$0.column] } ?? []) + columns).joined(separator: ",") + "\n"
            for step in 0..<horizon {
                let row = (0..<channels).map { String(predictions[step * channels + $0]) }
                let time = clock.map { [$0.last.advanced(by: step + 1, of: $0.frequency).text] } ?? []
                text += ([String(step + 1)] + time + row).joined(separator: ",") + "\n"
            }
            try AtomicFile.write(Data(text.utf8), to: output)
        } else {
            try result.write(to: output)
        }
        printToStandardError("ttm forecast: \(batch) series, horizon \(horizon), \(channels) channels -> \(output)")
    }
}

/// Past values from .npy or .csv, checked against the model's context and channels.
enum PastValues {
    /// The time of a CSV's last row, its frequency and the column it came from.
    typealias Clock = (last: Timestamp, frequency: Frequency, column: String)

    /// [batch, context, channels] with the channels the input has (the caller fits the model to them), their
    /// names, and the clock of a CSV with timestamps.
    static func read(_ path: String, contextLength: Int, timestampColumn: String?,
                     missing: MissingValuePolicy, gaps: GapPolicy) throws -> (NumPyArray, [String], Clock?) {
        if path.lowercased().hasSuffix(".csv") {
            let table = try SeriesTable.read(csv: path, layout: .init(timestampColumn: timestampColumn), missing: missing, gaps: gaps)
            guard table.series.count == 1, let series = table.series.first else {
                throw DataError("\(path): \(table.series.count) series; forecast reads one series from a CSV (use .npy for a batch)")
            }
            let channels = table.columns.count
            guard series.length >= contextLength else {
                throw DataError("\(path): series too short: \(series.length) rows, the model needs context_length \(contextLength)")
            }
            let last = Array(series.values[((series.length - contextLength) * channels)...])
            let clock: Clock? = series.clock.flatMap { clock in table.timestampColumn.map { (clock.last, clock.frequency, $0) } }
            return (NumPyArray(shape: [1, contextLength, channels], values: last), table.columns, clock)
        }
        var array = try NumPyArray.read(contentsOf: path)
        if array.shape.count == 2 { array.shape.insert(1, at: 0) }
        guard array.shape.count == 3, array.shape[1] == contextLength, array.shape[2] >= 1 else {
            throw DataError("\(path): shape \(array.shape), the model needs [batch, \(contextLength), channels]")
        }
        let channels = array.shape[2]
        if let bad = array.values.firstIndex(where: { !$0.isFinite }) {
            let perSeries = contextLength * channels
            throw DataError("\(path): non-finite value \(array.values[bad]) at [\(bad / perSeries), \(bad % perSeries / channels), \(bad % channels)]")
        }
        return (array, (0..<channels).map { "channel_\($0)" }, nil)
    }
}
