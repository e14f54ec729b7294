import CZlib
import Foundation

/// 8-bit images with optional class labels, row-major [count, height, width, channels] (channels last).
public struct ImageSet: Sendable {
    public var pixels: [UInt8]
    public var count: Int
    public var height: Int
    public var width: Int
    public var channels: Int
    public var labels: [Int64]?

    public var pixelsPerImage: Int { height * width * channels }

    public init(pixels: [UInt8], count: Int, height: Int, width: Int, channels: Int, labels: [Int64]?) {
        precondition(pixels.count == count * height * width * channels && (labels?.count ?? count) == count)
        self.pixels = pixels
        self.count = count
        self.height = height
        self.width = width
        self.channels = channels
        self.labels = labels
    }

    /// Images `range`, labels included.
    public func slice(_ range: Range<Int>) -> ImageSet {
        ImageSet(pixels: Array(pixels[(range.lowerBound * pixelsPerImage)..<(range.upperBound * pixelsPerImage)]), count: range.count,
                 height: height, width: width, channels: channels, labels: labels.map { Array($0[range]) })
    }
}

/// Readers for the image formats users have: IDX (MNIST, Fashion-MNIST; gzip-compressed or not) and CIFAR-10's
/// binary batches. Errors name the file and what is wrong with it.
public enum ImageFiles {
    /// Decompressed files larger than this are refused (a corrupt or hostile .gz could expand without bound).
    static let largestFile = 4 << 30

    /// The bytes of `path`, gunzipped when it is gzip-compressed (zlib reads plain files unchanged).
    static func contents(_ path: String) throws -> [UInt8] {
        guard FileManager.default.fileExists(atPath: path) else { throw DataError("\(path): no such file") }
        guard let file = gzopen(path, "rb") else { throw DataError("\(path): cannot open (\(String(cString: strerror(errno))))") }
        defer { gzclose(file) }
        var bytes: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let read = chunk.withUnsafeMutableBytes { gzread(file, $0.baseAddress, UInt32($0.count)) }
            if read < 0 {
                var code: Int32 = 0
                let message = gzerror(file, &code).map { String(cString: $0) } ?? "read error"
                throw DataError("\(path): cannot decompress (\(message)); a truncated or corrupt .gz?")
            }
            if read == 0 { break }
            bytes += chunk[0..<Int(read)]
            guard bytes.count <= largestFile else { throw DataError("\(path): more than \(largestFile >> 30) GB once decompressed") }
        }
        return bytes
    }

    /// An IDX file of unsigned bytes: magic 0 0 0x08 d, then d big-endian 32-bit sizes, then the data.
    static func readIDX(_ path: String) throws -> (dimensions: [Int], data: ArraySlice<UInt8>) {
        let bytes = try contents(path)
        guard bytes.count >= 4, bytes[0] == 0, bytes[1] == 0 else { throw DataError("\(path): not an IDX file (magic bytes missing)") }
        guard bytes[2] == 0x08 else { throw DataError("\(path): IDX element type 0x\(String(bytes[2], radix: 16)), expected 0x08 (unsigned bytes)") }
        let rank = Int(bytes[3])
        guard (1...4).contains(rank), bytes.count >= 4 + 4 * rank else { throw DataError("\(path): IDX header with \(rank) dimensions is cut short or unsupported") }
        let dimensions = (0..<rank).map { d in (0..<4).reduce(0) { $0 << 8 | Int(bytes[4 + 4 * d + $1]) } }
        var total = 1
        for d in dimensions {
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow, product <= bytes.count else { throw DataError("\(path): IDX dimensions \(dimensions) hold more bytes than the file") }
            total = product
        }
        let start = 4 + 4 * rank
        guard bytes.count - start == total else {
            throw DataError("\(path): IDX dimensions \(dimensions) need \(total) data bytes, the file has \(bytes.count - start)")
        }
        return (dimensions, bytes[start...])
    }

    /// Images from an IDX file ([count, height, width] or [count, height, width, channels]) and labels from
    /// another ([count], values below 256).
    public static func readIDX(images: String, labels: String?) throws -> ImageSet {
        let (dimensions, data) = try readIDX(images)
        guard dimensions.count == 3 || dimensions.count == 4, dimensions.allSatisfy({ $0 > 0 }) else {
            throw DataError("\(images): IDX dimensions \(dimensions), expected [count, height, width] or [count, height, width, channels], none zero")
        }
        var set = ImageSet(pixels: Array(data), count: dimensions[0], height: dimensions[1], width: dimensions[2],
                           channels: dimensions.count == 4 ? dimensions[3] : 1, labels: nil)
        if let labels {
            let (labelDimensions, labelData) = try readIDX(labels)
            guard labelDimensions == [set.count] else {
                throw DataError("\(labels): \(labelDimensions.count == 1 ? "\(labelDimensions[0]) labels" : "IDX dimensions \(labelDimensions)") for the \(set.count) images of \(images)")
            }
            set.labels = labelData.map { Int64($0) }
        }
        return set
    }

    /// CIFAR-10 binary batches: records of one label byte and 3 × 32 × 32 bytes (the red, green and blue planes),
    /// turned channels-last.
    public static func readCIFAR10(_ paths: [String]) throws -> ImageSet {
        let side = 32, plane = 32 * 32, record = 1 + 3 * 32 * 32
        var pixels: [UInt8] = [], labels: [Int64] = []
        for path in paths {
            let bytes = try contents(path)
            guard !bytes.isEmpty, bytes.count % record == 0 else {
                throw DataError("\(path): \(bytes.count) bytes is not a whole number of CIFAR-10 records (\(record) bytes each)")
            }
            for start in stride(from: 0, to: bytes.count, by: record) {
                guard bytes[start] < 10 else { throw DataError("\(path): record \(start / record) has label \(bytes[start]); CIFAR-10 labels are 0-9") }
                labels.append(Int64(bytes[start]))
                for pixel in 0..<plane { for c in 0..<3 { pixels.append(bytes[start + 1 + c * plane + pixel]) } }
            }
        }
        return ImageSet(pixels: pixels, count: labels.count, height: side, width: side, channels: 3, labels: labels)
    }

    /// The train and test images of a dataset folder: MNIST / Fashion-MNIST file names (`train-images-idx3-ubyte`,
    /// `train-labels-idx1-ubyte`, `t10k-…`, each optionally `.gz`) or CIFAR-10 batches (`data_batch_1.bin` …
    /// `data_batch_5.bin`, `test_batch.bin`). A single IDX file gives train images without labels.
    public static func read(_ path: String) throws -> (train: ImageSet, test: ImageSet?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw DataError("\(path): no such file or folder") }
        guard isDirectory.boolValue else { return (try readIDX(images: path, labels: nil), nil) }
        let names = Set(try FileManager.default.contentsOfDirectory(atPath: path))
        func find(_ stem: String) -> String? {
            [stem, stem + ".gz"].first { names.contains($0) }.map { URL(fileURLWithPath: path).appendingPathComponent($0).path }
        }
        if let trainImages = find("train-images-idx3-ubyte") {
            let train = try readIDX(images: trainImages, labels: find("train-labels-idx1-ubyte"))
            let test = try find("t10k-images-idx3-ubyte").map { try readIDX(images: $0, labels: find("t10k-labels-idx1-ubyte")) }
            return (train, test)
        }
        let batches = (1...5).compactMap { find("data_batch_\($0).bin") }
        if !batches.isEmpty {
            return (try readCIFAR10(batches), try find("test_batch.bin").map { try readCIFAR10([$0]) })
        }
        throw DataError("\(path): no train-images-idx3-ubyte[.gz] (MNIST, Fashion-MNIST) and no data_batch_N.bin (CIFAR-10) in this folder")
    }
}
