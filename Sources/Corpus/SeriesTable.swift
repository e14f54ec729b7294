import Foundation

/// What to do with a missing value (an empty cell, NA or NaN).
public enum MissingValuePolicy: String, CaseIterable, Sendable {
    /// Stop with an error naming file, line and column.
    case error
    /// Carry the last value forward (a series starting with a gap is an error).
    case ffill
    /// Leave out every series that has a missing value (reported).
    case drop
}

/// Series read from a CSV: one per id (long format) or a single one (wide format).
public struct SeriesTable: Sendable {
    public struct Series: Sendable {
        public var id: String
        public var timestamps: [String]
        /// Row-major [length, channels].
        public var values: [Float]
        /// The spacing of the timestamps; nil without a timestamp column or with a single row.
        public var frequency: Frequency?
        public var length: Int { timestamps.count }
        /// The last row's time and the frequency, when both are known: where a forecast's timestamps start.
        public var clock: (last: Timestamp, frequency: Frequency)? { Timestamp.clock(last: timestamps.last, frequency: frequency) }
        public init(id: String, timestamps: [String], values: [Float], frequency: Frequency? = nil) {
            self.id = id
            self.timestamps = timestamps
            self.values = values
            self.frequency = frequency
        }
    }

    public init(columns: [String], series: [Series]) {
        self.columns = columns
        self.series = series
    }

    public var columns: [String]
    /// The header of the timestamp column, when there is one.
    public var timestampColumn: String?
    public var series: [Series]
    /// Ids of series left out by the `drop` policy.
    public var droppedForMissingValues: [String] = []

    /// Which columns mean what. Without `targetColumns` every column that is neither the timestamp nor an id
    /// is a value column. Without `timestampColumn` a column named date, timestamp, time or datetime is the
    /// timestamp, unless `findsTimestamp` is false (rows are then taken in file order) or the column is one of
    /// the `targetColumns` (a value named "time", such as a race time).
    public struct Layout: Sendable {
        public var timestampColumn: String?
        public var idColumns: [String]
        public var targetColumns: [String]?
        public var findsTimestamp: Bool
        public init(timestampColumn: String? = nil, idColumns: [String] = [], targetColumns: [String]? = nil, findsTimestamp: Bool = true) {
            self.timestampColumn = timestampColumn
            self.idColumns = idColumns
            self.targetColumns = targetColumns
            self.findsTimestamp = findsTimestamp
        }
    }

    /// Reads a CSV. Timestamps are parsed (see `Timestamp`), must increase strictly within a series, and set
    /// the series' frequency; `gaps` says what happens where they skip steps of it.
    public static func read(csv path: String, layout: Layout, missing: MissingValuePolicy, gaps: GapPolicy = .error) throws -> SeriesTable {
        let file = try CSVFile(path: path)
        let timestampIndex: Int? = try layout.timestampColumn.map { try file.column($0, option: "--timestamp-column") }
            ?? (layout.findsTimestamp ? file.header.firstIndex { name in
                ["date", "timestamp", "time", "datetime"].contains(name.lowercased()) && !(layout.targetColumns ?? []).contains(name)
            } : nil)
        let idIndices = try layout.idColumns.map { try file.column($0, option: "--id-columns") }
        let excluded = Set(idIndices + (timestampIndex.map { [$0] } ?? []))
        let targetIndices = try layout.targetColumns.map { names in try names.map { try file.column($0, option: "--target-columns") } }
            ?? file.header.indices.filter { !excluded.contains($0) }
        guard !targetIndices.isEmpty else { throw DataError("\(path): no value columns (all columns are timestamp or id)") }
        for index in targetIndices where excluded.contains(index) {
            throw DataError("\(path): column '\(file.header[index])' cannot be both a value and a timestamp/id column")
        }
        let channels = targetIndices.count

        var order: [String] = []
        // A missing value is held as NaN: every other value is checked finite, so NaN marks exactly the gaps.
        var builders: [String: (timestamps: [String], times: [Timestamp], values: [Float], lines: [Int])] = [:]
        var firstTime: (Timestamp, line: Int)? = nil
        var firstLineOfId: [String: (line: Int, fields: [Substring])] = [:]
        for row in file.rows {
            let id = idIndices.map { String(row.fields[$0]) }.joined(separator: "/")
            // "a/b" + "c" and "a" + "b/c" join to the same id: refuse rather than merge two series.
            if idIndices.count > 1 {
                let parts = idIndices.map { row.fields[$0] }
                if let first = firstLineOfId[id] {
                    guard first.fields == parts else {
                        throw DataError("\(path): line \(row.line): id columns \(parts.map { "'\($0)'" }.joined(separator: ", ")) and those of line \(first.line) both make the series id '\(id)' (an id value contains '/')")
                    }
                } else {
                    firstLineOfId[id] = (row.line, parts)
                }
            }
            if builders[id] == nil { order.append(id); builders[id] = ([], [], [], []) }
            if let timestampIndex {
                let text = String(row.fields[timestampIndex].trimmingSpaces)
                let at = "\(path): line \(row.line), column '\(file.header[timestampIndex])'"
                guard !text.isEmpty else { throw DataError("\(at): empty timestamp") }
                guard let time = Timestamp(parsing: Substring(text)) else {
                    throw DataError("\(at): '\(text)' is not a timestamp (expected ISO 8601 like 2016-07-01T00:00:00Z, 2016-07-01 00:00:00 or 2016-07-01, or an integer step)")
                }
                if let (first, line) = firstTime, first.kind != time.kind {
                    throw DataError("\(at): '\(text)' is \(time.kind == .step ? "a step number" : "a calendar time") but line \(line) holds '\(first.text)'; a column holds one kind")
                }
                if firstTime == nil { firstTime = (time, row.line) }
                builders[id]!.timestamps.append(text)
                builders[id]!.times.append(time)
            } else {
                builders[id]!.timestamps.append(String(row.line))
            }
            builders[id]!.lines.append(row.line)
            for index in targetIndices {
                let cell = row.fields[index].trimmingSpaces
                if cell.isEmpty || Self.isMissingMarker(cell) {
                    if missing == .error {
                        throw DataError("\(path): line \(row.line), column '\(file.header[index])': missing value (--missing ffill carries the last value forward)")
                    }
                    builders[id]!.values.append(.nan)
                    continue
                }
                guard let value = Float(cell), value.isFinite else {
                    throw DataError("\(path): line \(row.line), column '\(file.header[index])': '\(cell)' is not a finite number")
                }
                builders[id]!.values.append(value)
            }
        }

        var table = SeriesTable(columns: targetIndices.map { file.header[$0] }, series: [])
        table.timestampColumn = timestampIndex.map { file.header[$0] }
        for id in order {
            var b = builders[id]!
            let inSeries = id.isEmpty ? "" : " in series '\(id)'"
            for i in b.times.indices.dropFirst() where b.times[i].value <= b.times[i - 1].value {
                if b.times[i].value == b.times[i - 1].value {
                    throw DataError("\(path): line \(b.lines[i]): duplicate timestamp '\(b.timestamps[i])'\(inSeries) (first at line \(b.lines[i - 1]))")
                }
                throw DataError("\(path): line \(b.lines[i]): timestamp '\(b.timestamps[i])'\(inSeries) is earlier than '\(b.timestamps[i - 1])' at line \(b.lines[i - 1]); the rows of a series must be in time order (sort the file by time)")
            }
            if b.values.contains(where: \.isNaN) {
                if missing == .drop { table.droppedForMissingValues.append(id); continue }
                if let i = forwardFill(&b.values, channels: channels) {
                    throw DataError("\(path): line \(b.lines[i / channels]), column '\(table.columns[i % channels])': missing value at the start of a series cannot be forward-filled")
                }
            }
            let frequency = Frequency.infer(b.times)
            if let frequency, gaps != .ignore {
                try fillGaps(&b.timestamps, times: b.times, values: &b.values, channels: channels, lines: b.lines,
                             frequency: frequency, policy: gaps, where: "\(path)", inSeries: inSeries)
            }
            table.series.append(Series(id: id, timestamps: b.timestamps, values: b.values, frequency: frequency))
        }
        guard !table.series.isEmpty else { throw DataError("\(path): every series was dropped for missing values") }
        return table
    }

    /// Checks that every pair of neighbouring timestamps is a whole number of `frequency` steps apart and, for
    /// `ffill`, inserts the skipped timestamps with the last values. An irregular spacing, or a gap under
    /// `error`, names the lines on both sides. Filling more rows than the series holds is refused: that is
    /// no longer the same data.
    private static func fillGaps(_ timestamps: inout [String], times: [Timestamp], values: inout [Float], channels: Int, lines: [Int],
                                 frequency: Frequency, policy: GapPolicy, where path: String, inSeries: String) throws {
        // The filled copy is started at the first gap only: most series have none.
        var filled: (timestamps: [String], values: [Float])? = nil, inserted = 0
        func between(_ i: Int) -> String { "'\(timestamps[i - 1])' (line \(lines[i - 1])) and '\(timestamps[i])' (line \(lines[i]))\(inSeries)" }
        for i in times.indices.dropFirst() {
            guard let steps = frequency.steps(from: times[i - 1], to: times[i]) else {
                throw DataError("\(path): line \(lines[i]): irregular spacing between \(between(i)): not a whole number of \(frequency), the series' most common spacing (--gaps ignore keeps the rows as they are)")
            }
            if steps > 1 {
                guard policy == .ffill else {
                    throw DataError("\(path): line \(lines[i]): \(steps - 1) missing step(s) of \(frequency) between \(between(i)) (--gaps ffill fills them with the last values, --gaps ignore keeps the rows as they are)")
                }
                inserted += steps - 1
                guard inserted <= times.count else {
                    throw DataError("\(path): line \(lines[i]): filling the gaps\(inSeries) would add \(inserted)+ rows to its \(times.count) (use --gaps ignore, or clean the data)")
                }
                if filled == nil { filled = (Array(timestamps[..<i]), Array(values[..<(i * channels)])) }
                for k in 1..<steps {
                    filled!.timestamps.append(times[i - 1].advanced(by: k, of: frequency).text)
                    filled!.values += values[((i - 1) * channels)..<(i * channels)]
                }
            }
            if filled != nil {
                filled!.timestamps.append(timestamps[i])
                filled!.values += values[(i * channels)..<((i + 1) * channels)]
            }
        }
        if let filled { timestamps = filled.timestamps; values = filled.values }
    }

    /// Missing values (NaN) take the value of the same channel one row earlier; returns the first element that has
    /// no row before it (a missing value in the first row), or nil when all are filled.
    static func forwardFill(_ values: inout [Float], channels: Int) -> Int? {
        for i in values.indices where values[i].isNaN {
            guard i >= channels else { return i }
            values[i] = values[i - channels]
        }
        return nil
    }

    /// One reader for every series file ttm prepares: a Monash-archive `.tsf` (which names its own fields, so
    /// `layout` and `gaps` do not apply) or a CSV.
    public static func read(_ path: String, layout: Layout, missing: MissingValuePolicy, gaps: GapPolicy) throws -> SeriesTable {
        path.lowercased().hasSuffix(".tsf") ? try read(tsf: path, missing: missing)
            : try read(csv: path, layout: layout, missing: missing, gaps: gaps)
    }

    /// NA, NaN, null or None in any case (checked without lowercasing a copy of every cell).
    static func isMissingMarker(_ cell: Substring) -> Bool {
        guard let first = cell.utf8.first, first | 0x20 == UInt8(ascii: "n") else { return false }
        return ["na", "nan", "null", "none"].contains { $0.utf8.elementsEqual(cell.utf8.lazy.map { $0 | 0x20 }) }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs (Foundation's trimming bridges every cell through NSString:
    /// a large share of reading a big CSV).
    var trimmingSpaces: Substring {
        var start = startIndex, end = endIndex
        while start < end, self[start] == " " || self[start] == "\t" { start = index(after: start) }
        while end > start, self[index(before: end)] == " " || self[index(before: end)] == "\t" { end = index(before: end) }
        return self[start..<end]
    }
}

extension SeriesTable {
    /// Every series at 1/`factor` of its resolution (TTM's "diverse resolution sampling": downsampled copies of
    /// high-frequency series as extra pretraining data): the mean of each block of `factor` rows, blocks aligned
    /// to the last row (the first length mod factor rows are left out) and stamped with their last row's
    /// timestamp, so the last timestamp and the frequency x factor give the same clock. A series shorter than
    /// `factor` rows has no block and is left out.
    public func downsampled(by factor: Int) -> SeriesTable {
        precondition(factor >= 1)
        guard factor > 1 else { return self }
        let c = columns.count
        var copy = self
        copy.series = series.compactMap { s in
            let blocks = s.length / factor
            guard blocks > 0 else { return nil }
            let skip = s.length - blocks * factor
            var values = [Float](repeating: 0, count: blocks * c)
            var timestamps: [String] = []
            timestamps.reserveCapacity(blocks)
            for b in 0..<blocks {
                let first = skip + b * factor
                for j in 0..<c {
                    var sum = 0.0
                    for r in first..<(first + factor) { sum += Double(s.values[r * c + j]) }
                    values[b * c + j] = Float(sum / Double(factor))
                }
                timestamps.append(s.timestamps[first + factor - 1])
            }
            let frequency = s.frequency.map { Frequency(unit: $0.unit, count: $0.count * Int64(factor)) }
            return Series(id: s.id, timestamps: timestamps, values: values, frequency: frequency)
        }
        return copy
    }
}
