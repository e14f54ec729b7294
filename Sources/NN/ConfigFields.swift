/// Typed access to the fields of a config (a config.json or a YAML section converted to JSON values), with
/// errors that name the field.
public struct ConfigFields: Sendable {
    public let fields: [String: JSONValue]
    public let source: String

    public init(fields: [String: JSONValue], source: String) {
        self.fields = fields
        self.source = source
    }

    public func int(_ key: String, default fallback: Int? = nil) throws -> Int {
        switch fields[key] {
        case .number(let value)? where value == value.rounded() && abs(value) < 1e12: return Int(value)
        case nil where fallback != nil: return fallback!
        case nil: throw ConfigError(key: key, message: "missing from \(source)")
        case let other?: throw ConfigError(key: key, message: "must be an integer, got \(other)")
        }
    }

    public func double(_ key: String, default fallback: Double) throws -> Double {
        switch fields[key] {
        case .number(let value)?: return value
        case nil: return fallback
        case let other?: throw ConfigError(key: key, message: "must be a number, got \(other)")
        }
    }

    public func bool(_ key: String, default fallback: Bool) throws -> Bool {
        switch fields[key] {
        case .bool(let value)?: return value
        case nil: return fallback
        case let other?: throw ConfigError(key: key, message: "must be true or false, got \(other)")
        }
    }

    public func enumeration<T: RawRepresentable>(_ key: String, default fallback: T) throws -> T where T.RawValue == String {
        switch fields[key] {
        case .string(let text)?:
            guard let value = T(rawValue: text) else { throw ConfigError(key: key, message: "unsupported value \"\(text)\"") }
            return value
        case nil: return fallback
        case let other?: throw ConfigError(key: key, message: "must be a string, got \(other)")
        }
    }
}
