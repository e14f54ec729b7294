@testable import Corpus
import Foundation
import XCTest

/// Image datasets in the formats users have (IDX plain and gzip-compressed, CIFAR-10 batches), made small here,
/// through prepare and the reader; bad files refused naming the file.
final class ImageTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-images-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// IDX bytes: magic 0 0 8 rank, big-endian sizes, data.
    private func idx(_ dimensions: [Int], _ data: [UInt8]) -> [UInt8] {
        [0, 0, 8, UInt8(dimensions.count)] + dimensions.flatMap { d in (0..<4).map { UInt8(truncatingIfNeeded: d >> (8 * (3 - $0))) } } + data
    }

    private func write(_ bytes: [UInt8], _ name: String, gzip: Bool = false) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
        guard gzip else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-f", path(name)]
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
    }

    private func pixel(_ image: Int, _ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: image * 31 + index * 7) }

    /// A Fashion-MNIST-like folder (gzip-compressed, as distributed) of 20 train and 6 test 5x4 images: prepared,
    /// the last 4 train images held out, every pixel and label read back in place.
    func testIDXFolderRoundTrips() throws {
        let data = path("fashion")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for (prefix, count, offset) in [("train", 20, 0), ("t10k", 6, 100)] {
            try write(idx([count, 5, 4], (0..<count).flatMap { i in (0..<20).map { pixel(offset + i, $0) } }), "fashion/\(prefix)-images-idx3-ubyte", gzip: true)
            try write(idx([count], (0..<count).map { UInt8(($0 + offset) % 10) }), "fashion/\(prefix)-labels-idx1-ubyte", gzip: prefix == "train")
        }
        let (train, test) = try ImageFiles.read(data)
        XCTAssertEqual([train.count, train.height, train.width, train.channels, test?.count], [20, 5, 4, 1, 6])
        try ImageShards.write(train: train, test: test, validation: 4, source: data, output: path("prepared"), overwrite: false)
        let reader = try ImageShardReader(folder: path("prepared"))
        XCTAssertEqual(reader.counts, ["train": 16, "validation": 4, "test": 6])
        XCTAssertEqual([reader.height, reader.width, reader.channels, reader.classes], [5, 4, 1, 10])
        XCTAssertEqual(try reader.images("validation", 1..<3), (17..<19).flatMap { i in (0..<20).map { pixel(i, $0) } })
        XCTAssertEqual(try reader.images("test", 5..<6), (0..<20).map { pixel(105, $0) })
        XCTAssertEqual(try reader.labels("train", 0..<16), (0..<16).map { Int64($0 % 10) })
        XCTAssertEqual(try reader.labels("test", 0..<6), (100..<106).map { Int64($0 % 10) })
        XCTAssertThrowsError(try ImageShards.write(train: train, test: test, validation: 4, source: data, output: path("prepared"), overwrite: false)) {
            XCTAssertTrue("\($0)".contains("already exists"), "\($0)")
        }
    }

    /// CIFAR-10 records (label, then the R, G and B planes) become channels-last images.
    func testCIFAR10BatchesBecomeChannelsLast() throws {
        let data = path("cifar")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        func record(_ image: Int) -> [UInt8] {
            [UInt8(image % 10)] + (0..<3).flatMap { c in (0..<1024).map { UInt8(truncatingIfNeeded: image + 3 * $0 + c) } }
        }
        try write((0..<3).flatMap(record), "cifar/data_batch_1.bin")
        try write((3..<5).flatMap(record), "cifar/data_batch_2.bin")
        try write((9..<11).flatMap(record), "cifar/test_batch.bin")
        let (train, test) = try ImageFiles.read(data)
        XCTAssertEqual([train.count, train.height, train.width, train.channels, test?.count], [5, 32, 32, 3, 2])
        // Pixel p of image i, channel c was written as i + 3p + c: channels-last makes the bytes i + k for k = 3p + c.
        XCTAssertEqual(Array(train.pixels[(4 * 3072)..<(5 * 3072)]), (0..<3072).map { UInt8(truncatingIfNeeded: 4 + $0) })
        XCTAssertEqual(test?.labels, [9, 0])
    }

    func testBadImageFilesAreRefusedNamingTheFile() throws {
        let good = idx([3, 2, 2], [UInt8](repeating: 1, count: 12))
        let cases: [([UInt8], String)] = [
            ([], "magic bytes missing"), ([1, 2, 3, 4], "magic bytes missing"), ([0, 0, 0x0D, 3] + Array(good[4...]), "element type 0xd"),
            (Array(good.dropLast()), "need 12 data bytes, the file has 11"), (idx([3, 0, 2], []), "none zero"),
            (idx([2, 1 << 30, 1 << 30], [1, 2]), "hold more bytes than the file"), ([0, 0, 8, 9], "cut short or unsupported"),
        ]
        for (k, (bytes, message)) in cases.enumerated() {
            try write(bytes, "bad-\(k)")
            XCTAssertThrowsError(try ImageFiles.read(path("bad-\(k)"))) {
                XCTAssertTrue("\($0)".contains("bad-\(k): ") && "\($0)".contains(message), "\($0)")
            }
        }
        // A truncated .gz and mismatched labels.
        try write(idx([300, 8, 8], (0..<19200).map { UInt8(truncatingIfNeeded: $0 * 13) }), "cut", gzip: true)
        let gz = try Data(contentsOf: URL(fileURLWithPath: path("cut.gz")))
        try gz.prefix(gz.count / 2).write(to: URL(fileURLWithPath: path("cut.gz")))
        XCTAssertThrowsError(try ImageFiles.read(path("cut.gz"))) { XCTAssertTrue("\($0)".contains("cut.gz: "), "\($0)") }
        try FileManager.default.createDirectory(atPath: path("mismatch"), withIntermediateDirectories: true)
        try write(good, "mismatch/train-images-idx3-ubyte")
        try write(idx([4], [0, 1, 2, 3]), "mismatch/train-labels-idx1-ubyte")
        XCTAssertThrowsError(try ImageFiles.read(path("mismatch"))) {
            XCTAssertTrue("\($0)".contains("train-labels-idx1-ubyte: 4 labels for the 3 images"), "\($0)")
        }
        try write([UInt8](repeating: 0, count: 3000), "odd.bin")
        XCTAssertThrowsError(try ImageFiles.readCIFAR10([path("odd.bin")])) { XCTAssertTrue("\($0)".contains("not a whole number of CIFAR-10 records"), "\($0)") }
        try FileManager.default.createDirectory(atPath: path("empty"), withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFiles.read(path("empty"))) { XCTAssertTrue("\($0)".contains("no train-images-idx3-ubyte"), "\($0)") }
        let set = try ImageFiles.readIDX(images: path("mismatch/train-images-idx3-ubyte"), labels: nil)
        XCTAssertThrowsError(try ImageShards.write(train: set, test: nil, validation: 3, source: "s", output: path("none"), overwrite: false)) {
            XCTAssertTrue("\($0)".contains("leaves no training images"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("none")))
    }
}
