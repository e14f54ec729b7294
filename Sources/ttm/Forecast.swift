import ArgumentParser
import Checkpoint
import Foundation
import NN
import TTM

struct Forecast: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Forecast with a TTM checkpoint: past values in, predictions out.",
        discussion: """
            --input is a NumPy float32 array [batch, context, channels] (or [context, channels] for one series), \
            or a CSV of one series: a header row, an optional timestamp column, one numeric column per channel; \
            the last context_length rows are used. --output gets [batch, horizon, channels] as .npy, or a CSV \
            table (one row per horizon step) when it ends in .csv.
            """)

    @Option(help: "A model folder (config.json + model.safetensors), ours or one saved by granite-tsfm.")
    var checkpoint: String

    @Option(help: "Past values: .npy [batch, context, channels] or a .csv of one series.")
    var input: String

    @Option(help: "Where to write the forecast (.npy, or .csv).")
    var output: String

    @Option(help: "Series per forward pass.")
    var batchSize: Int = 256

    func validate() throws {
        guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1 (got \(batchSize))") }
    }

    func run() throws {
        let (model, store) = try TTMCheckpoint.load(checkpoint)
        let c = model.config
        let (past, columns) = try PastValues.read(input, contextLength: c.contextLength, channels: c.numInputChannels)
        let batch = past.shape[0]
        let inputStride = c.contextLength * c.numInputChannels, outputStride = c.predictionLength * c.numInputChannels
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
        let result = NumPyArray(shape: [batch, c.predictionLength, c.numInputChannels], values: predictions)
        if output.lowercased().hasSuffix(".csv") {
            guard batch == 1 else { throw CleanExit.message("--output .csv holds one series; this input has \(batch): use .npy") }
            var text = (["step"] + columns).joined(separator: ",") + "\n"
            for step in 0..<c.predictionLength {
                let row = (0..<c.numInputChannels).map { String(predictions[step * c.numInputChannels + $0]) }
                text += "\(step + 1)," + row.joined(separator: ",") + "\n"
            }
            try AtomicFile.write(Data(text.utf8), to: output)
        } else {
            try result.write(to: output)
        }
        printToStandardError("ttm forecast: \(batch) series, horizon \(c.predictionLength), \(c.numInputChannels) channels -> \(output)")
    }
}

/// Past values from .npy or .csv, checked against the model's context and channels.
enum PastValues {
    static func read(_ path: String, contextLength: Int, channels: Int) throws -> (NumPyArray, [String]) {
        if path.lowercased().hasSuffix(".csv") {
            let table = try CSVSeries.read(path)
            guard table.columns.count == channels else {
                throw InputError("\(path): \(table.columns.count) value columns (\(table.columns.joined(separator: ", "))), the model takes \(channels) channels")
            }
            guard table.rows >= contextLength else {
                throw InputError("\(path): series too short: \(table.rows) rows, the model needs context_length \(contextLength)")
            }
            let last = Array(table.values[((table.rows - contextLength) * channels)...])
            return (NumPyArray(shape: [1, contextLength, channels], values: last), table.columns)
        }
        var array = try NumPyArray.read(contentsOf: path)
        if array.shape.count == 2 { array.shape.insert(1, at: 0) }
        guard array.shape.count == 3, array.shape[1] == contextLength, array.shape[2] == channels else {
            throw InputError("\(path): shape \(array.shape), the model needs [batch, \(contextLength), \(channels)]")
        }
        if let bad = array.values.firstIndex(where: { !$0.isFinite }) {
            let perSeries = contextLength * channels
            throw InputError("\(path): non-finite value \(array.values[bad]) at [\(bad / perSeries), \(bad % perSeries / channels), \(bad % channels)]")
        }
        return (array, (0..<channels).map { "channel_\($0)" })
    }
}

struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One series in a CSV file: a header row, an optional non-numeric first column (timestamps), then numeric
/// columns. Errors name the file, line and column.
struct CSVSeries {
    var columns: [String]
    var values: [Float]   // row-major [rows, columns]
    var rows: Int { columns.isEmpty ? 0 : values.count / columns.count }

    static func read(_ path: String) throws -> CSVSeries {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw InputError("\(path): " + (FileManager.default.fileExists(atPath: path) ? "cannot read as UTF-8 text" : "no such file"))
        }
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).map(String.init)
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let headerLine = lines.first, !headerLine.isEmpty else { throw InputError("\(path): empty file") }
        let header = headerLine.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.count > 1 else { throw InputError("\(path): header only, no data rows") }
        // A first column that does not parse as a number on the first data row is taken as timestamps.
        let firstRow = lines[1].split(separator: ",", omittingEmptySubsequences: false)
        let skipFirst = header.count > 1 && Float(firstRow.first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? "") == nil
        let columns = Array(header.dropFirst(skipFirst ? 1 : 0))
        var values: [Float] = []
        values.reserveCapacity((lines.count - 1) * columns.count)
        for (index, line) in lines.enumerated().dropFirst() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            guard cells.count == header.count else {
                throw InputError("\(path): line \(index + 1) has \(cells.count) fields, the header has \(header.count)")
            }
            for (column, cell) in cells.enumerated().dropFirst(skipFirst ? 1 : 0) {
                let text = cell.trimmingCharacters(in: .whitespaces)
                guard let value = Float(text), value.isFinite else {
                    throw InputError("\(path): line \(index + 1), column '\(header[column])': \(text.isEmpty ? "missing value" : "'\(text)' is not a finite number")")
                }
                values.append(value)
            }
        }
        return CSVSeries(columns: columns, values: values)
    }
}
