import Foundation

/// A problem with input data; the message names the file and, where it applies, line and column.
public struct DataError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A CSV file split into lines and fields (RFC 4180 quoting: fields in double quotes may hold commas and
/// doubled quotes). Line numbers are 1-based as an editor shows them.
struct CSVFile {
    let path: String
    let header: [String]
    /// Data rows with their line numbers.
    let rows: [(line: Int, fields: [Substring])]

    init(path: String) throws {
        self.path = path
        guard FileManager.default.fileExists(atPath: path) else { throw DataError("\(path): no such file") }
        guard let data = FileManager.default.contents(atPath: path) else { throw DataError("\(path): cannot read file") }
        guard let text = String(data: data, encoding: .utf8) else { throw DataError("\(path): not UTF-8 text") }
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        guard let first = lines.first, !first.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw DataError("\(path): empty file")
        }
        header = try CSVFile.fields(first, path: path, line: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        if let duplicate = Dictionary(grouping: header, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw DataError("\(path): line 1: column '\(duplicate)' appears twice in the header")
        }
        var rows: [(Int, [Substring])] = []
        rows.reserveCapacity(lines.count - 1)
        for (index, line) in lines.enumerated().dropFirst() {
            if line.isEmpty { continue }
            let fields = try CSVFile.fields(line, path: path, line: index + 1)
            guard fields.count == header.count else {
                throw DataError("\(path): line \(index + 1) has \(fields.count) fields, the header has \(header.count)")
            }
            rows.append((index + 1, fields))
        }
        guard !rows.isEmpty else { throw DataError("\(path): header only, no data rows") }
        self.rows = rows
    }

    static func fields(_ line: Substring, path: String, line number: Int) throws -> [Substring] {
        // (On the UTF-8 view: Substring.contains(String) goes through Foundation, a tenth of reading a big CSV.)
        guard line.utf8.contains(UInt8(ascii: "\"")) else { return line.split(separator: ",", omittingEmptySubsequences: false) }
        var fields: [Substring] = []
        var current = ""
        var inQuotes = false
        var index = line.startIndex
        while index < line.endIndex {
            let character = line[index]
            if inQuotes {
                if character == "\"" {
                    let next = line.index(after: index)
                    if next < line.endIndex && line[next] == "\"" { current.append("\""); index = next } else { inQuotes = false }
                } else {
                    current.append(character)
                }
            } else if character == "\"" {
                inQuotes = true
            } else if character == "," {
                fields.append(Substring(current)); current = ""
            } else {
                current.append(character)
            }
            index = line.index(after: index)
        }
        guard !inQuotes else { throw DataError("\(path): line \(number): unterminated quoted field") }
        fields.append(Substring(current))
        return fields
    }

    func column(_ name: String, option: String) throws -> Int {
        guard let index = header.firstIndex(of: name) else {
            throw DataError("\(path): no column '\(name)' (given by \(option)); columns are: \(header.joined(separator: ", "))")
        }
        return index
    }
}
