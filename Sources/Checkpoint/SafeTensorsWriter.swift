import Foundation

extension SafeTensors {
    /// One tensor to write.
    public struct Entry: Sendable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// The file bytes for `entries`, as PyTorch's `save_file` writes them: tensors in name order, the header
    /// `{"__metadata__":{...},"name":{"dtype":"F32","shape":[...],"data_offsets":[b,e]},...}` with no
    /// spaces, padded with spaces to a multiple of 8 bytes.
    public static func encode(_ entries: [Entry], metadata: [String: String] = ["format": "pt"]) -> Data {
        let sorted = entries.sorted { $0.name < $1.name }
        precondition(Set(sorted.map(\.name)).count == sorted.count, "safetensors: duplicate tensor names")
        var header = "{"
        var parts: [String] = []
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            parts.append("\"__metadata__\":{" + items.joined(separator: ",") + "}")
        }
        var offset = 0
        for entry in sorted {
            precondition(entry.shape.reduce(1, *) == entry.values.count, "safetensors: '\(entry.name)' shape \(entry.shape) does not match \(entry.values.count) values")
            let end = offset + 4 * entry.values.count
            let shape = entry.shape.map(String.init).joined(separator: ",")
            parts.append("\(jsonString(entry.name)):{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += parts.joined(separator: ",") + "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var data = Data(capacity: 8 + headerBytes.count + offset)
        var length = UInt64(headerBytes.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(contentsOf: headerBytes)
        for entry in sorted {
            entry.values.withUnsafeBufferPointer { buffer in
                for value in buffer {
                    var bits = value.bitPattern.littleEndian
                    withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
                }
            }
        }
        return data
    }

    /// Writes atomically: a temporary file beside `path`, flushed, then renamed over it.
    public static func write(_ entries: [Entry], metadata: [String: String] = ["format": "pt"], to path: String) throws {
        try AtomicFile.write(encode(entries, metadata: metadata), to: path)
    }

    /// A JSON string literal (quotes and escapes).
    static func jsonString(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
