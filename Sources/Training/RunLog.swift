import Checkpoint
import Foundation

/// Rank 0's output: progress lines on stdout and one JSON object per line in the metrics file. Other ranks
/// get a log that writes nothing.
final class RunLog {
    let enabled: Bool
    private let metrics: FileHandle?
    let metricsPath: String?

    /// Opens the metrics file: a new run starts it empty; a run resumed at `resumedStep` keeps the records up
    /// to that step and drops later ones (a killed run wrote steps its resumption repeats). A path that is not
    /// a regular file (`/dev/null`, a pipe) is written as it is, never replaced.
    init(enabled: Bool, metricsPath: String?, resumedStep: Int?) throws {
        self.enabled = enabled
        self.metricsPath = metricsPath
        guard enabled, let metricsPath else { metrics = nil; return }
        let url = URL(fileURLWithPath: metricsPath)
        let kind = PathKind(metricsPath)
        if kind == .special {
            guard let handle = FileHandle(forWritingAtPath: metricsPath) else {
                throw TrainingError("logging.metrics: cannot write to \(metricsPath)")
            }
            metrics = handle
            return
        }
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            var kept = Data()
            if let resumedStep, kind == .file {
                let text = try String(contentsOf: url, encoding: .utf8)
                for line in text.split(separator: "\n") where Self.step(of: line).map({ $0 <= resumedStep }) ?? false {
                    kept.append(Data((line + "\n").utf8))
                }
            }
            try kept.write(to: url, options: .atomic)
            let handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
            metrics = handle
        } catch {
            throw TrainingError("logging.metrics: cannot write \(metricsPath): \(describe(error))")
        }
    }

    /// The "step" of a metrics line, or nil when it has none.
    static func step(of line: Substring) -> Int? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return object["step"] as? Int
    }

    /// A progress line on stdout. A failed write (stdout redirected to a full disk) is not worth stopping a
    /// training run for; FileHandle.write(_:) would trap on it, so the throwing form is used and its error dropped.
    func line(_ text: String) {
        guard enabled else { return }
        try? FileHandle.standardOutput.write(contentsOf: Data((text + "\n").utf8))
    }

    /// Appends one JSON object to the metrics file; a failed write stops the run with the cause and the path.
    func record(_ fields: [String: Any]) throws {
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
        do { try metrics.write(contentsOf: Data(("{" + body + "}\n").utf8)) } catch {
            throw TrainingError("logging.metrics: cannot write \(metricsPath ?? ""): \(describe(error))")
        }
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        if seconds < 10 { return String(format: "%.1fs", seconds) }
        let s = Int(seconds.rounded())
        return s >= 3600 ? "\(s / 3600)h\((s % 3600) / 60)m" : s >= 60 ? "\(s / 60)m\(s % 60)s" : "\(s)s"
    }
}
