/// A configuration value that is missing, unknown or out of range; `key` names it as written in the file.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let key: String
    public let message: String
    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }
    public var description: String { "config key '\(key)': \(message)" }
}
