/// A configuration value that is missing, unknown or out of range; `key` names it as written in the file.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public let key: String
    public let message: String
    public init(key: String, message: String) {
        self.key = key
        self.message = message
    }
    /// "(file)" stands for the whole file (it does not parse): the message alone says it.
    public var description: String { key == "(file)" ? message : "config key '\(key)': \(message)" }
}
