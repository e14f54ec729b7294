import CHDF5

/// A failed HDF5 operation. `message` says what was attempted on which file and object, followed by
/// HDF5's own error stack (HDF5's automatic printing to stderr is switched off).
public struct HDF5Error: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

enum HDF5Library {
    /// Opens the library once and silences its automatic error printing: errors become thrown `HDF5Error`s.
    private static let opened: Void = {
        H5open()
        H5Eset_auto2(ttm_h5e_default(), nil, nil)
    }()

    static func ensureOpen() { _ = opened }

    /// An error for `what`, with the current HDF5 error stack appended and then cleared.
    static func error(_ what: String) -> HDF5Error {
        let stack = takeErrorStack()
        return HDF5Error(message: stack.isEmpty ? what : "\(what): \(stack)")
    }

    /// The HDF5 error stack as one line, outermost call first; the stack is cleared afterwards.
    static func takeErrorStack() -> String {
        final class Lines { var items: [String] = [] }
        let lines = Lines()
        let box = Unmanaged.passRetained(lines)
        defer { box.release() }
        H5Ewalk2(ttm_h5e_default(), H5E_WALK_DOWNWARD, { _, entry, context in
            guard let entry, let context else { return 0 }
            let lines = Unmanaged<Lines>.fromOpaque(context).takeUnretainedValue()
            var text = entry.pointee.desc.map { String(cString: $0) } ?? ""
            var minor = [CChar](repeating: 0, count: 256)
            if H5Eget_msg(entry.pointee.min_num, nil, &minor, minor.count) > 0 {
                let reason = String(nullTerminated: minor)
                if !reason.isEmpty && !text.contains(reason) { text += text.isEmpty ? reason : " (\(reason))" }
            }
            if !text.isEmpty { lines.items.append(text) }
            return 0
        }, box.toOpaque())
        H5Eclear2(ttm_h5e_default())
        return lines.items.joined(separator: "; ")
    }
}

extension String {
    /// The text up to the first NUL of a C character buffer.
    init(nullTerminated buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}

/// Calls an HDF5 function returning a negative value on failure, and throws with `what` as context.
@discardableResult
func check<T: BinaryInteger>(_ result: T, _ what: @autoclosure () -> String) throws -> T {
    guard result >= 0 else { throw HDF5Library.error(what()) }
    return result
}
