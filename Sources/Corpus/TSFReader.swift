import Foundation

/// The Monash forecasting archive's `.tsf` files: `@attribute NAME TYPE` lines name the colon-separated fields
/// that precede each series' comma-separated values (`?` is a missing value) after `@data`; `@frequency`
/// (daily, half_hourly, 10_minutes, …) with a `start_timestamp` attribute (`YYYY-MM-DD HH-MM-SS`) give the
/// series' timestamps. One channel per series, named "value"; the series id joins the string attributes with "/".
extension SeriesTable {
    public static func read(tsf path: String, missing: MissingValuePolicy) throws -> SeriesTable {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError("\(path): no such file") }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) ?? String(data: data, encoding: .isoLatin1) else {
            throw DataError("\(path): cannot read file")
        }
        var attributes: [(name: String, type: String)] = [], frequency: Frequency? = nil, inData = false
        var table = SeriesTable(columns: ["value"], series: [])
        table.timestampColumn = "timestamp"
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1, line = raw.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
            if line.isEmpty || line.hasPrefix("#") { continue }
            if !inData {
                let words = line.split(separator: " ").map(String.init)
                switch words.first?.lowercased() {
                case "@attribute":
                    guard words.count == 3 else { throw DataError("\(path): line \(number): expected '@attribute NAME TYPE'") }
                    attributes.append((words[1], words[2].lowercased()))
                case "@frequency":
                    guard words.count == 2 else { throw DataError("\(path): line \(number): expected '@frequency NAME'") }
                    guard let parsed = Self.tsfFrequency(words[1]) else { throw DataError("\(path): line \(number): unknown frequency '\(words[1])'") }
                    frequency = parsed
                case "@data": inData = true
                default: continue  // @relation, @horizon, @missing, @equallength: not needed to read the values
                }
                continue
            }
            let fields = line.split(separator: ":", maxSplits: attributes.count, omittingEmptySubsequences: false)
            guard fields.count == attributes.count + 1 else {
                throw DataError("\(path): line \(number): \(fields.count - 1) fields before the values, the header declares \(attributes.count) attributes")
            }
            var idParts: [String] = [], start: Timestamp? = nil
            for (k, attribute) in attributes.enumerated() {
                let value = String(fields[k])
                switch attribute.type {
                case "date":
                    // .tsf writes times with hyphens: 1996-01-01 00-00-00.
                    let parts = value.split(separator: " ")
                    let iso = parts.count == 2 ? "\(parts[0]) \(parts[1].replacingOccurrences(of: "-", with: ":"))" : value
                    guard let time = Timestamp(parsing: Substring(iso)) else {
                        throw DataError("\(path): line \(number), attribute '\(attribute.name)': '\(value)' is not a date")
                    }
                    start = time
                case "string": idParts.append(value)
                default: continue
                }
            }
            var values: [Float] = []
            for (position, cell) in fields[attributes.count].split(separator: ",", omittingEmptySubsequences: false).enumerated() {
                let text = cell.trimmingCharacters(in: .whitespaces)
                if text == "?" || text.isEmpty {
                    guard missing != .error else {
                        throw DataError("\(path): line \(number), value \(position + 1): missing value (--missing ffill carries the last value forward)")
                    }
                    values.append(.nan)
                    continue
                }
                guard let value = Float(text), value.isFinite else { throw DataError("\(path): line \(number), value \(position + 1): '\(text)' is not a finite number") }
                values.append(value)
            }
            let id = idParts.isEmpty ? "series-\(table.series.count + 1)" : idParts.joined(separator: "/")
            if values.contains(where: \.isNaN) {
                if missing == .drop { table.droppedForMissingValues.append(id); continue }
                if forwardFill(&values, channels: 1) != nil {
                    throw DataError("\(path): line \(number): the series '\(id)' starts with a missing value, which cannot be forward-filled")
                }
            }
            let timestamps: [String] = (start != nil && frequency != nil)
                ? values.indices.map { start!.advanced(by: $0, of: frequency!).text }
                : values.indices.map { String($0) }
            table.series.append(Series(id: id, timestamps: timestamps, values: values,
                                       frequency: start != nil ? frequency : Frequency(unit: .step, count: 1)))
        }
        guard inData else { throw DataError("\(path): no @data line: not a .tsf file") }
        guard !table.series.isEmpty else { throw DataError("\(path): no series after @data (or every series was dropped for missing values)") }
        return table
    }

    /// The archive's frequency names: yearly … minutely, and N_unit forms (10_minutes, 4_seconds, half_hourly).
    static func tsfFrequency(_ name: String) -> Frequency? {
        let named: [String: Frequency] = [
            "yearly": .init(unit: .months, count: 12), "quarterly": .init(unit: .months, count: 3), "monthly": .init(unit: .months, count: 1),
            "weekly": .init(unit: .microseconds, count: 7 * 86_400_000_000), "daily": .init(unit: .microseconds, count: 86_400_000_000),
            "hourly": .init(unit: .microseconds, count: 3_600_000_000), "half_hourly": .init(unit: .microseconds, count: 1_800_000_000),
            "minutely": .init(unit: .microseconds, count: 60_000_000),
        ]
        if let frequency = named[name.lowercased()] { return frequency }
        let parts = name.lowercased().split(separator: "_")
        guard parts.count == 2, let n = Int64(parts[0]), n > 0 else { return nil }
        let seconds: Int64? = switch parts[1] {
        case "seconds", "second": 1
        case "minutes", "minute", "mins", "min": 60
        case "hours", "hour": 3600
        case "days", "day": 86_400
        default: nil
        }
        return seconds.map { Frequency(unit: .microseconds, count: n * $0 * 1_000_000) }
    }
}
