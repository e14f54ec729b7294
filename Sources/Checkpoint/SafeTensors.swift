import Foundation

/// A safetensors file (the Hugging Face weight format): an 8-byte little-endian header length N, N bytes of
/// JSON mapping each tensor name to {dtype, shape, data_offsets} (plus an optional "__metadata__" of
/// strings), then the raw little-endian tensor bytes. Only F32 tensors are accepted.
///
/// Reading validates everything before any tensor is used: the header length against the file size, the
/// JSON, every dtype, shape and offset range, the byte count against the shape, and that the tensors tile
/// the data section without overlaps or holes. A malformed file is an error naming the file, never a crash.
public struct SafeTensors: Sendable {
    public struct Tensor: Sendable, Equatable {
        public let name: String
        public let shape: [Int]
        /// Byte range inside the data section.
        public let byteRange: Range<Int>
        public var count: Int { shape.reduce(1, *) }
    }

    public let source: String
    public let metadata: [String: String]
    /// In data order.
    public let tensors: [Tensor]
    private let index: [String: Int]
    private let data: Data

    /// Largest header we accept (the format's own reference implementation uses 100 MB).
    public static let maximumHeaderLength = 100_000_000

    public static func read(contentsOf path: String) throws -> SafeTensors {
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw CheckpointError(path: path, message: FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        return try SafeTensors(bytes: bytes, source: path)
    }

    public init(bytes: Data, source: String) throws {
        self.source = source
        func fail(_ message: String) -> CheckpointError { CheckpointError(path: source, message: message) }
        guard bytes.count >= 8 else { throw fail("truncated: \(bytes.count) bytes, less than the 8-byte header length") }
        let headerLength = bytes.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(Self.maximumHeaderLength) else {
            throw fail("header length \(headerLength) exceeds the \(Self.maximumHeaderLength)-byte limit")
        }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("truncated: header length \(headerLength) but only \(bytes.count - 8) bytes follow")
        }
        let headerEnd = 8 + Int(headerLength)
        let headerBytes = bytes.subdata(in: 8..<headerEnd)
        guard let object = try? JSONSerialization.jsonObject(with: headerBytes), let header = object as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        let dataSize = bytes.count - headerEnd
        var metadata: [String: String] = [:]
        var tensors: [Tensor] = []
        for (name, value) in header {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (key, item) in entries {
                    guard let text = item as? String else { throw fail("__metadata__ entry '\(key)' is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail("tensor '\(name)': entry is not an object") }
            guard let dtype = info["dtype"] as? String else { throw fail("tensor '\(name)': no dtype") }
            guard dtype == "F32" else { throw fail("tensor '\(name)' has dtype \(dtype); only F32 is supported") }
            guard let shape = Self.integers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor '\(name)': shape is not a list of non-negative integers")
            }
            guard let offsets = Self.integers(info["data_offsets"]), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw fail("tensor '\(name)': data_offsets is not [begin, end] with 0 <= begin <= end")
            }
            guard offsets[1] <= dataSize else {
                throw fail("tensor '\(name)': data_offsets [\(offsets[0]), \(offsets[1])] lie outside the \(dataSize)-byte data section (truncated file?)")
            }
            let (count, overflow) = shape.reduce((1, false)) { acc, d in
                let (p, o) = acc.0.multipliedReportingOverflow(by: d)
                return (p, acc.1 || o)
            }
            guard !overflow, count.multipliedReportingOverflow(by: 4).overflow == false, count * 4 == offsets[1] - offsets[0] else {
                throw fail("tensor '\(name)': shape \(shape) needs \(overflow ? "too many" : String(count * 4)) bytes but data_offsets span \(offsets[1] - offsets[0])")
            }
            tensors.append(Tensor(name: name, shape: shape, byteRange: offsets[0]..<offsets[1]))
        }
        tensors.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound, $0.name) < ($1.byteRange.lowerBound, $1.byteRange.upperBound, $1.name) }
        var position = 0
        for tensor in tensors where !tensor.byteRange.isEmpty {
            guard tensor.byteRange.lowerBound >= position else { throw fail("tensor '\(tensor.name)' overlaps another tensor's bytes") }
            guard tensor.byteRange.lowerBound == position else { throw fail("bytes \(position)..<\(tensor.byteRange.lowerBound) of the data section belong to no tensor") }
            position = tensor.byteRange.upperBound
        }
        guard position == dataSize else { throw fail("the last \(dataSize - position) bytes of the data section belong to no tensor") }
        self.metadata = metadata
        self.tensors = tensors
        self.index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
        self.data = bytes.subdata(in: headerEnd..<bytes.count)
    }

    public subscript(name: String) -> Tensor? { index[name].map { tensors[$0] } }

    public var names: [String] { tensors.map(\.name) }

    /// The tensor's values, row-major.
    public func floats(_ name: String) throws -> [Float] {
        guard let tensor = self[name] else { throw CheckpointError(path: source, message: "no tensor '\(name)'") }
        return data.withUnsafeBytes { raw in
            (0..<tensor.count).map { i in
                Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: tensor.byteRange.lowerBound + 4 * i, as: UInt32.self)))
            }
        }
    }

    /// Copies the tensor's values into `destination` (exactly `count` elements).
    public func copy(_ name: String, into destination: UnsafeMutableBufferPointer<Float>) throws {
        guard let tensor = self[name] else { throw CheckpointError(path: source, message: "no tensor '\(name)'") }
        guard destination.count == tensor.count else {
            throw CheckpointError(path: source, message: "tensor '\(name)' has \(tensor.count) values, expected \(destination.count)")
        }
        data.withUnsafeBytes { raw in
            for i in 0..<tensor.count {
                destination[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: tensor.byteRange.lowerBound + 4 * i, as: UInt32.self)))
            }
        }
    }

    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var result: [Int] = []
        for item in array {
            guard let number = item as? NSNumber else { return nil }
            let value = number.doubleValue
            guard value == value.rounded(), abs(value) < 9_007_199_254_740_992 else { return nil }
            result.append(Int(value))
        }
        return result
    }
}

/// A checkpoint or weight file that cannot be used; `path` names the file.
public struct CheckpointError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let message: String
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
    public var description: String { "\(path): \(message)" }
}
