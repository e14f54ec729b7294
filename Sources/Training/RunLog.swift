import Foundation

/// Rank 0's output: progress lines on stdout and one JSON object per line in the metrics file. Other ranks
/// get a log that writes nothing.
final class RunLog {
    let enabled: Bool
    private let metrics: FileHandle?
    let metricsPath: String?

    init(enabled: Bool, metricsPath: String?, append: Bool) throws {
        self.enabled = enabled
        self.metricsPath = metricsPath
        guard enabled, let metricsPath else { metrics = nil; return }
        let url = URL(fileURLWithPath: metricsPath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !append || !FileManager.default.fileExists(atPath: metricsPath) {
            guard FileManager.default.createFile(atPath: metricsPath, contents: nil) else {
                throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: metricsPath])
            }
        }
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        metrics = handle
    }

    func line(_ text: String) {
        guard enabled else { return }
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    func record(_ fields: [String: Any]) {
        guard enabled, let metrics else { return }
        let ordered = fields.keys.sorted { ($0 == "step" ? "" : $0) < ($1 == "step" ? "" : $1) }
        let body = ordered.map { key -> String in
            let value = fields[key]!
            let text: String
            switch value {
            case let v as Double: text = v.isFinite ? String(v) : "null"
            case let v as Float: text = v.isFinite ? String(v) : "null"
            case let v as Int: text = String(v)
            case let v as String: text = "\"\(v)\""
            default: text = "\"\(value)\""
            }
            return "\"\(key)\":\(text)"
        }.joined(separator: ",")
        metrics.write(Data(("{" + body + "}\n").utf8))
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\((s % 3600) / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
