import Foundation

/// A NumPy `.npy` array of float32 (float64 is read and narrowed), C order.
public struct NumPyArray: Equatable, Sendable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "npy: shape \(shape) does not hold \(values.count) values")
        self.shape = shape
        self.values = values
    }

    public static func read(contentsOf path: String) throws -> NumPyArray {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError(path: path, message: FileManager.default.fileExists(atPath: path) ? "cannot read file" : "no such file")
        }
        return try NumPyArray(npy: data, source: path)
    }

    public init(npy data: Data, source: String) throws {
        func fail(_ message: String) -> CheckpointError { CheckpointError(path: source, message: message) }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw fail("not a NumPy .npy file (magic bytes missing)")
        }
        let major = bytes[6]
        let headerStart: Int, headerLength: Int
        switch major {
        case 1: headerStart = 10; headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("truncated header") }
            headerStart = 12
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        default: throw fail("unsupported .npy version \(major)")
        }
        guard headerStart + headerLength <= bytes.count else { throw fail("truncated header") }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        guard let descr = Self.field("descr", in: header).map({ $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")) }) else {
            throw fail("header has no 'descr'")
        }
        guard Self.field("fortran_order", in: header)?.trimmingCharacters(in: .whitespaces) == "False" else {
            throw fail("Fortran-order arrays are not supported; save with numpy.ascontiguousarray")
        }
        guard let shapeText = header.range(of: "'shape':").map({ header[$0.upperBound...] }),
              let open = shapeText.firstIndex(of: "("), let close = shapeText.firstIndex(of: ")") else {
            throw fail("header has no 'shape'")
        }
        let dims = shapeText[shapeText.index(after: open)..<close].split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let shape = try dims.map { text -> Int in
            guard let d = Int(text), d >= 0 else { throw fail("bad dimension '\(text)' in shape") }
            return d
        }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= bytes.count else { throw fail("shape \(shape) holds more values than the file's \(bytes.count) bytes") }
            count = product
        }
        let dataStart = headerStart + headerLength
        let width: Int
        switch descr {
        case "<f4", "|f4", "=f4": width = 4
        case "<f8", "=f8": width = 8
        default: throw fail("dtype \(descr) is not supported (float32 or float64, little-endian)")
        }
        guard bytes.count - dataStart == count * width else {
            throw fail("shape \(shape) needs \(count * width) data bytes, the file has \(bytes.count - dataStart)")
        }
        let values: [Float] = bytes.withUnsafeBytes { raw in
            (0..<count).map { i in
                width == 4
                    ? Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + 4 * i, as: UInt32.self)))
                    : Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + 8 * i, as: UInt64.self))))
            }
        }
        self.init(shape: shape, values: values)
    }

    /// The `.npy` bytes (format 1.0, '<f4', header padded to a multiple of 64 bytes as NumPy writes it).
    public func npyData() -> Data {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(contentsOf: Array(header.utf8))
        values.withUnsafeBufferPointer { buffer in
            for value in buffer {
                var bits = value.bitPattern.littleEndian
                withUnsafeBytes(of: &bits) { data.append(contentsOf: $0) }
            }
        }
        return data
    }

    public func write(to path: String) throws { try AtomicFile.write(npyData(), to: path) }

    private static func field(_ name: String, in header: String) -> String? {
        guard let range = header.range(of: "'\(name)':") else { return nil }
        let rest = header[range.upperBound...]
        let end = rest.firstIndex(of: ",") ?? rest.endIndex
        return String(rest[..<end])
    }
}
