import Foundation

/// Any JSON value, for config fields that are kept verbatim.
public enum JSONValue: Codable, Equatable, Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// A Float as the number it was written as: its shortest decimal form (0.2, not 0.20000000298023224, which is
    /// what widening the Float to Double would write), so a config written back reads as PyTorch wrote it.
    public static func float(_ value: Float) -> JSONValue { .number(Double(value.description) ?? Double(value)) }

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let value = try? container.decode(Bool.self) { self = .bool(value) }
        else if let value = try? container.decode(Double.self) { self = .number(value) }
        else if let value = try? container.decode(String.self) { self = .string(value) }
        else if let value = try? container.decode([JSONValue].self) { self = .array(value) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            if value == value.rounded(), abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public var description: String {
        switch self {
        case .null: "null"
        case .bool(let value): String(value)
        case .number(let value): value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .string(let value): "\"\(value)\""
        case .array(let value): "[" + value.map(\.description).joined(separator: ", ") + "]"
        case .object(let value): "{" + value.keys.sorted().map { "\"\($0)\": \(value[$0]!)" }.joined(separator: ", ") + "}"
        }
    }
}

extension JSONValue {
    /// The top-level object of a JSON document; anything else is a `ConfigError` that says what is wrong in
    /// words (cut short, a syntax error and where, or a JSON value that is not an object). The caller puts the
    /// file's path in front.
    public static func object(from data: Data) throws -> [String: JSONValue] {
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? error.localizedDescription
            throw ConfigError(key: "(file)", message: "not valid JSON (\(detail)); a truncated or hand-edited file?")
        }
        guard parsed is [String: Any] else {
            throw ConfigError(key: "(file)", message: "holds a JSON \(parsed is [Any] ? "array" : "value"), not an object")
        }
        do { return try JSONDecoder().decode([String: JSONValue].self, from: data) } catch {
            throw ConfigError(key: "(file)", message: error.localizedDescription)
        }
    }
}
