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
        public var length: Int { timestamps.count }
        public init(id: String, timestamps: [String], values: [Float]) {
            self.id = id
            self.timestamps = timestamps
            self.values = values
        }
    }

    public init(columns: [String], series: [Series]) {
        self.columns = columns
        self.series = series
    }

    public var columns: [String]
    public var series: [Series]
    /// Ids of series left out by the `drop` policy.
    public var droppedForMissingValues: [String] = []

    /// Which columns mean what. Without `targetColumns` every column that is neither the timestamp nor an id
    /// is a value column.
    public struct Layout: Sendable {
        public var timestampColumn: String?
        public var idColumns: [String]
        public var targetColumns: [String]?
        public init(timestampColumn: String? = nil, idColumns: [String] = [], targetColumns: [String]? = nil) {
            self.timestampColumn = timestampColumn
            self.idColumns = idColumns
            self.targetColumns = targetColumns
        }
    }

    public static func read(csv path: String, layout: Layout, missing: MissingValuePolicy) throws -> SeriesTable {
        let file = try CSVFile(path: path)
        let timestampIndex: Int? = try layout.timestampColumn.map { try file.column($0, option: "--timestamp-column") }
            ?? file.header.firstIndex { ["date", "timestamp", "time", "datetime"].contains($0.lowercased()) }
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
        var builders: [String: (timestamps: [String], values: [Float], lines: [Int], missing: [Bool])] = [:]
        for row in file.rows {
            let id = idIndices.map { String(row.fields[$0]) }.joined(separator: "/")
            if builders[id] == nil { order.append(id); builders[id] = ([], [], [], []) }
            let timestamp = timestampIndex.map { String(row.fields[$0]).trimmingCharacters(in: .whitespaces) } ?? String(row.line)
            builders[id]!.timestamps.append(timestamp)
            builders[id]!.lines.append(row.line)
            for index in targetIndices {
                let cell = row.fields[index].trimmingCharacters(in: .whitespaces)
                if cell.isEmpty || ["na", "nan", "null", "none"].contains(cell.lowercased()) {
                    if missing == .error {
                        throw DataError("\(path): line \(row.line), column '\(file.header[index])': missing value (--missing ffill carries the last value forward)")
                    }
                    builders[id]!.values.append(.nan)
                    builders[id]!.missing.append(true)
                    continue
                }
                guard let value = Float(cell), value.isFinite else {
                    throw DataError("\(path): line \(row.line), column '\(file.header[index])': '\(cell)' is not a finite number")
                }
                builders[id]!.values.append(value)
                builders[id]!.missing.append(false)
            }
        }

        var table = SeriesTable(columns: targetIndices.map { file.header[$0] }, series: [])
        for id in order {
            var b = builders[id]!
            var seen: [String: Int] = [:]
            for (i, timestamp) in b.timestamps.enumerated() {
                if let earlier = seen[timestamp] {
                    throw DataError("\(path): line \(b.lines[i]): duplicate timestamp '\(timestamp)'\(id.isEmpty ? "" : " in series '\(id)'") (first at line \(b.lines[earlier]))")
                }
                seen[timestamp] = i
            }
            if b.missing.contains(true) {
                if missing == .drop { table.droppedForMissingValues.append(id); continue }
                for i in b.values.indices where b.missing[i] {
                    guard i >= channels else {
                        throw DataError("\(path): line \(b.lines[i / channels]), column '\(table.columns[i % channels])': missing value at the start of a series cannot be forward-filled")
                    }
                    b.values[i] = b.values[i - channels]
                }
            }
            table.series.append(Series(id: id, timestamps: b.timestamps, values: b.values))
        }
        guard !table.series.isEmpty else { throw DataError("\(path): every series was dropped for missing values") }
        return table
    }
}
