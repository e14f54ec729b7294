import Checkpoint
import Corpus
import Foundation
import Models
import NN

/// Many series at once: the last window of every series of a long CSV or a prepared folder, forecast a batch
/// at a time and streamed into one CSV (the file appears when complete).
extension Forecast {
    /// Where the series come from: a prepared folder is read a batch at a time; a CSV is read whole first.
    private enum Series {
        case prepared(CorpusReader)
        case table(SeriesTable)

        var count: Int {
            switch self { case .prepared(let r): r.series.count; case .table(let t): t.series.count }
        }
        var channels: [String] {
            switch self { case .prepared(let r): r.columns; case .table(let t): t.columns }
        }
        func id(_ i: Int) -> String {
            switch self { case .prepared(let r): r.series[i].id; case .table(let t): t.series[i].id }
        }
        func length(_ i: Int) -> Int {
            switch self { case .prepared(let r): r.series[i].length; case .table(let t): t.series[i].length }
        }
        /// The last row's time and the frequency, when both are known.
        func clock(_ i: Int) -> (last: Timestamp, frequency: Frequency)? {
            switch self { case .prepared(let r): r.series[i].clock; case .table(let t): t.series[i].clock }
        }
        /// The last `rows` rows of series i, all channels, into `buffer`.
        func readLast(_ i: Int, rows: Int, into buffer: UnsafeMutablePointer<Float>) throws {
            switch self {
            case .prepared(let r):
                try r.read(series: i, row: r.series[i].length - rows, count: rows, into: UnsafeMutableBufferPointer(start: buffer, count: rows * r.channels))
            case .table(let t):
                let series = t.series[i], c = t.columns.count
                series.values.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + (series.length - rows) * c, count: rows * c) }
            }
        }
    }

    func forecastEverySeries(_ folder: LoadedModel) throws {
        guard output.lowercased().hasSuffix(".csv") else {
            throw DataError("\(output): forecasting every series of \(input) writes a CSV (series, step, timestamp, channels); give a .csv output")
        }
        let series: Series
        if PathKind(input) == .folder {
            series = .prepared(try CorpusReader(folder: input))
        } else {
            let ids = (idColumns ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            series = .table(try SeriesTable.read(csv: input, layout: .init(timestampColumn: timestampColumn, idColumns: ids),
                                                 missing: missing, gaps: gaps))
        }
        let columns = series.channels
        let loaded = try folder.fitted(toChannels: columns.count, what: "\(checkpoint) on \(input)")
        let model = try loaded.forecaster(checkpoint), store = loaded.store
        let context = model.contextLength, horizon = model.predictionLength, c = columns.count
        let usable = (0..<series.count).filter { series.length($0) >= context }
        guard !usable.isEmpty else {
            throw DataError("\(input): none of its \(series.count) series has the \(context) rows (context_length) a forecast needs")
        }
        let stamped = usable.allSatisfy { series.clock($0) != nil }
        let escape: (String) -> String = { $0.contains(",") || $0.contains("\"") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
        let past = FloatBuffer(capacity: batchSize * context * c)
        let started = ContinuousClock.now
        try AtomicFile.stream(to: output) { append in
            try append(Data(((["series", "step"] + (stamped ? ["timestamp"] : []) + columns).map(escape).joined(separator: ",") + "\n").utf8))
            var start = 0
            while start < usable.count {
                let members = usable[start..<min(start + batchSize, usable.count)]
                for (slot, i) in members.enumerated() { try series.readLast(i, rows: context, into: past.pointer + slot * context * c) }
                let y = model.forward(past.pointer, batch: members.count, mode: .inference, store)
                var text = ""
                for (slot, i) in members.enumerated() {
                    let id = escape(series.id(i)), clock = stamped ? series.clock(i) : nil
                    for step in 0..<horizon {
                        var fields = [id, String(step + 1)]
                        if let (last, frequency) = clock { fields.append(last.advanced(by: step + 1, of: frequency).text) }
                        for k in 0..<c { fields.append(String(y[(slot * horizon + step) * c + k])) }
                        text += fields.joined(separator: ",") + "\n"
                    }
                }
                try append(Data(text.utf8))
                start += members.count
            }
        }
        let seconds = (ContinuousClock.now - started).inSeconds
        let skipped = series.count - usable.count
        printToStandardError("ttm forecast: \(usable.count) series x \(horizon) steps x \(c) channels -> \(output) (\(String(format: "%.0f", Double(usable.count) / max(seconds, 1e-9))) series/s)\(skipped > 0 ? "; \(skipped) series shorter than \(context) rows skipped" : "")")
    }
}
