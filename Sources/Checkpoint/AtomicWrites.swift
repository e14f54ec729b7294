import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Temporary folders being written right now, removed if the process is told to stop (SIGINT, SIGTERM), so an
/// interrupted run leaves no hidden `.NAME.partial-PID` folder behind. `installSignalCleanup` arms it.
public enum PartialOutputs {
    private static let paths = Mutex<Set<String>>([])
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func register(_ path: String) { paths.withLock { _ = $0.insert(path) } }
    static func unregister(_ path: String) { paths.withLock { _ = $0.remove(path) } }

    /// On SIGINT or SIGTERM: remove the folders being written, then exit with 128 + the signal's number.
    public static func installSignalCleanup() {
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)  // delivered to the dispatch source instead
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                for path in paths.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
                _exit(128 + signalNumber)
            }
            source.resume()
            sources.append(source)
        }
    }

    /// Removes `.NAME.partial-PID` and `.NAME.old-PID` siblings of `target` left by processes that no longer run.
    static func sweepStale(beside target: URL) {
        let parent = target.deletingLastPathComponent(), name = target.lastPathComponent
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
        for entry in entries {
            for marker in [".\(name).partial-", ".\(name).old-"] where entry.hasPrefix(marker) {
                guard let pid = Int32(entry.dropFirst(marker.count)), pid != getpid() else { continue }
                if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(at: parent.appendingPathComponent(entry)) }
            }
        }
    }
}

/// What a path names: nothing, a regular file, a folder, or something else (a device such as /dev/null, a
/// pipe), which is written in place and never replaced by renaming a file over it.
public enum PathKind: Sendable {
    case none, file, folder, special

    public init(_ path: String) {
        var status = stat()
        guard stat(path, &status) == 0 else { self = .none; return }
        switch status.st_mode & S_IFMT {
        case S_IFREG: self = .file
        case S_IFDIR: self = .folder
        default: self = .special
        }
    }
}

/// Writing a file so that readers see either the old contents or the complete new ones, never a part. A path
/// that exists and is not a regular file (`/dev/null`, a pipe) is written as it is: renaming over it would
/// replace a device node with a file.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String) throws {
        try stream(to: path) { append in try append(data) }
    }

    /// `write` for output produced piece by piece: `produce` gets an `append` function; the file appears
    /// (renamed into place) only when `produce` returns, and is removed if it throws, which passes its own
    /// errors on unchanged (append's file errors become `CheckpointError`s naming `path`).
    public static func stream(to path: String, _ produce: (_ append: (Data) throws -> Void) throws -> Void) throws {
        func failure(_ error: Error) -> CheckpointError { CheckpointError(path: path, message: "cannot write: \(describe(error))") }
        if PathKind(path) == .special {
            guard let handle = FileHandle(forWritingAtPath: path) else {
                throw CheckpointError(path: path, message: "cannot write: \(String(cString: strerror(errno)))")
            }
            defer { try? handle.close() }
            try produce { data in do { try handle.write(contentsOf: data) } catch { throw failure(error) } }
            return
        }
        let url = URL(fileURLWithPath: path)
        let temporary = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).tmp-\(ProcessInfo.processInfo.processIdentifier)")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            let cause = FileManager.default.fileExists(atPath: url.deletingLastPathComponent().path) ? "cannot create a file there" : String(cString: strerror(ENOENT))
            throw CheckpointError(path: path, message: "cannot write: \(cause) (\(url.deletingLastPathComponent().path))")
        }
        PartialOutputs.register(temporary.path)
        defer { PartialOutputs.unregister(temporary.path) }
        do {
            let handle: FileHandle
            do { handle = try FileHandle(forWritingTo: temporary) } catch { throw failure(error) }
            defer { try? handle.close() }
            try produce { data in do { try handle.write(contentsOf: data) } catch { throw failure(error) } }
            do { try handle.synchronize() } catch { throw failure(error) }
            if rename(temporary.path, path) != 0 {
                throw CheckpointError(path: path, message: "cannot rename \(temporary.path) into place: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
    }

    /// Refuses to replace an existing output unless asked to, never writes over one of the inputs, and checks
    /// that the folder that is to hold the output exists and takes new files: before any work, for every
    /// command that writes a file or a folder.
    public static func checkOutput(_ path: String, overwrite: Bool, inputs: [String], option: String) throws {
        let target = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        for input in inputs where URL(fileURLWithPath: input).standardizedFileURL.resolvingSymlinksInPath().path == target {
            throw CheckpointError(path: path, message: "\(option) is also an input; choose another output path")
        }
        if [.file, .folder].contains(PathKind(path)), !overwrite {
            throw CheckpointError(path: path, message: "\(option): already exists; give --overwrite to replace it")
        }
        let parent = URL(fileURLWithPath: path).deletingLastPathComponent()
        guard FileManager.default.fileExists(atPath: parent.path) else {
            throw CheckpointError(path: path, message: "\(option): the folder \(parent.path) does not exist")
        }
        try probe(parent, for: path, what: option)
    }
}

extension AtomicFile {
    /// Whether a folder could be made at `path` (with its missing parents), checked without making anything:
    /// the nearest existing ancestor must be a writable folder. A check that created the folder would leave it
    /// behind when a later check refuses the run.
    public static func checkFolderCreatable(_ path: String, key: String) throws {
        try checkFolderCreatable(path, for: path, key: key)
    }

    /// The same check for the folder that is to hold the file or folder `path`.
    public static func checkParentCreatable(of path: String, key: String) throws {
        try checkFolderCreatable(URL(fileURLWithPath: path).deletingLastPathComponent().path, for: path, key: key)
    }

    private static func checkFolderCreatable(_ folder: String, for path: String, key: String) throws {
        var url = URL(fileURLWithPath: folder).standardizedFileURL
        while !FileManager.default.fileExists(atPath: url.path), url.path != "/" { url.deleteLastPathComponent() }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CheckpointError(path: path, message: "\(key) cannot be created: \(url.path) is not a folder")
        }
        try probe(url, for: path, what: key)
    }

    /// Whether `folder` takes new entries. access() says yes to root everywhere, and /proc refuses even root:
    /// a probe folder is made and removed.
    private static func probe(_ folder: URL, for path: String, what: String) throws {
        let probe = folder.appendingPathComponent(".ttm-probe-\(getpid())").path
        guard mkdir(probe, 0o700) == 0 else {
            throw CheckpointError(path: path, message: "\(what) cannot be created in \(folder.path): \(String(cString: strerror(errno)))")
        }
        rmdir(probe)
    }
}

/// Writing a folder so that readers see either no folder (or the old one) or the complete new one: it is built
/// under a hidden temporary sibling name, every file in it is flushed to disk, and then it is renamed into place,
/// replacing an existing folder of that name only at that moment. On any error the temporary folder is removed.
public enum AtomicDirectory {
    /// Calls `fill` with the temporary folder to write into, then publishes it as `path`. File-system failures
    /// (Foundation's, also from inside `fill`) become `CheckpointError`s naming `path`; other errors pass through.
    public static func write(_ path: String, _ fill: (URL) throws -> Void) throws {
        let manager = FileManager.default
        let target = URL(fileURLWithPath: path).standardizedFileURL
        let parent = target.deletingLastPathComponent()
        let pid = ProcessInfo.processInfo.processIdentifier
        let temporary = parent.appendingPathComponent(".\(target.lastPathComponent).partial-\(pid)")
        PartialOutputs.sweepStale(beside: target)
        PartialOutputs.register(temporary.path)
        defer { PartialOutputs.unregister(temporary.path) }
        do {
            try? manager.removeItem(at: temporary)
            do { try manager.createDirectory(at: temporary, withIntermediateDirectories: false) } catch {
                throw CheckpointError(path: path, message: "cannot create a folder in \(parent.path): \(describe(error))")
            }
            try fill(temporary)
            for name in try manager.contentsOfDirectory(atPath: temporary.path) {
                let handle = try FileHandle(forUpdating: temporary.appendingPathComponent(name))
                try handle.synchronize()
                try handle.close()
            }
            if manager.fileExists(atPath: target.path) {
                let old = parent.appendingPathComponent(".\(target.lastPathComponent).old-\(pid)")
                try? manager.removeItem(at: old)
                try manager.moveItem(at: target, to: old)
                try manager.moveItem(at: temporary, to: target)
                try? manager.removeItem(at: old)
            } else {
                try manager.moveItem(at: temporary, to: target)
            }
        } catch {
            try? manager.removeItem(at: temporary)
            if error is CocoaError || error is POSIXError { throw CheckpointError(path: path, message: "cannot write: \(describe(error))") }
            throw error
        }
    }
}
