import CHDF5
import Foundation
import HDF5
import XCTest

final class HDF5Tests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-hdf5-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func assertError(_ body: @autoclosure () throws -> Any, mentions parts: [String],
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            let text = String(describing: error)
            for part in parts {
                XCTAssertTrue(text.contains(part), "error does not mention '\(part)': \(text)", file: file, line: line)
            }
        }
    }

    func testChunkedCompressedMatrixRoundTrips() throws {
        let rows = 300, columns = 7
        // Smooth, repetitive values compress; the exact float bits must still come back.
        let values = (0..<(rows * columns)).map { Float(sin(Double($0) * 0.01)) * 3 + Float($0 % 7) }
        let filePath = path("matrix.h5")
        do {
            let file = try File.create(filePath)
            let group = try file.createGroup("series")
            let dataset = try group.createDataset("values", of: Float.self, shape: [rows, columns],
                                                  chunks: [64, columns], deflateLevel: 6)
            try dataset.write(values)
            let offsets = try group.createDataset("offsets", of: Int64.self, shape: [4])
            try offsets.write([0, 10, 250, 300] as [Int64])
            try file.close()
        }
        let file = try File.open(filePath)
        let dataset = try file.openDataset("series/values")
        XCTAssertEqual(dataset.shape, [rows, columns])
        XCTAssertEqual(dataset.elementType, .float32)
        XCTAssertEqual(try dataset.read(as: Float.self), values)
        XCTAssertLessThan(dataset.storedByteCount, rows * columns * 4, "deflate should shrink this data")
        XCTAssertEqual(try file.openGroup("series").openDataset("offsets").read(as: Int64.self), [0, 10, 250, 300])
        XCTAssertEqual(try file.openGroup("series").childNames(), ["offsets", "values"])
    }

    func testHyperslabReadEqualsTheSlice() throws {
        let rows = 50, columns = 6
        let values = (0..<(rows * columns)).map { Double($0) * 0.5 }
        let file = try File.create(path("slab.h5"))
        let dataset = try file.createDataset("x", of: Double.self, shape: [rows, columns], chunks: [16, 6], deflateLevel: 1)
        try dataset.write(values)

        let block = try dataset.read(offset: [17, 2], count: [9, 3], as: Double.self)
        var expected: [Double] = []
        for r in 17..<26 { for c in 2..<5 { expected.append(values[r * columns + c]) } }
        XCTAssertEqual(block, expected)

        // Into a caller's buffer, 1-D view of one column range of one row.
        var row = [Double](repeating: .nan, count: 6)
        try row.withUnsafeMutableBufferPointer { try dataset.read(offset: [49, 0], count: [1, 6], into: $0) }
        XCTAssertEqual(row, Array(values[(49 * columns)..<(50 * columns)]))

        // A hyperslab write lands where it should.
        try dataset.write([-1, -2] as [Double], offset: [3, 4], count: [1, 2])
        XCTAssertEqual(try dataset.read(offset: [3, 3], count: [1, 3], as: Double.self), [values[3 * columns + 3], -1, -2])

        assertError(try dataset.read(offset: [45, 0], count: [10, 6], as: Double.self), mentions: ["outside", "'/x'", "slab.h5"])
        assertError(try dataset.read(offset: [0], count: [1], as: Double.self), mentions: ["rank", "'/x'"])
    }

    func testOneDimensionalInt64AndFloat64() throws {
        let file = try File.create(path("one.h5"))
        let a = try file.createDataset("a", of: Int64.self, shape: [5], chunks: [2], deflateLevel: 9)
        try a.write([Int64.min, -1, 0, 1, Int64.max])
        let b = try file.createDataset("b", of: Double.self, shape: [3])
        try b.write([1e-300, .pi, -.infinity])
        XCTAssertEqual(try a.read(as: Int64.self), [Int64.min, -1, 0, 1, Int64.max])
        XCTAssertEqual(try b.read(as: Double.self), [1e-300, .pi, -.infinity])
        XCTAssertEqual(try a.read(offset: [3], count: [2], as: Int64.self), [1, Int64.max])
    }

    func testAttributesRoundTrip() throws {
        let filePath = path("attrs.h5")
        do {
            let file = try File.create(filePath)
            try file.attributes.set("schema", to: "ttm-shard/1")
            try file.attributes.set("version", to: Int64(3))
            let group = try file.createGroup("g")
            try group.attributes.set("mean", to: [1.5, -2.25] as [Double])
            try group.attributes.set("scale", to: Float(0.125))
            try group.attributes.set("name", to: "first")
            try group.attributes.set("name", to: "série ✓")  // replaced, and UTF-8
            try group.attributes.set("columns", to: ["HUFL", "OT", "é"])
            let dataset = try group.createDataset("d", of: Float.self, shape: [2])
            try dataset.attributes.set("unit", to: "kWh")
            try file.close()
        }
        let file = try File.open(filePath)
        XCTAssertEqual(try file.attributes.string("schema"), "ttm-shard/1")
        XCTAssertEqual(try file.attributes.value("version", as: Int64.self), 3)
        let group = try file.openGroup("g")
        XCTAssertEqual(try group.attributes.values("mean", as: Double.self), [1.5, -2.25])
        XCTAssertEqual(try group.attributes.value("scale", as: Float.self), 0.125)
        XCTAssertEqual(try group.attributes.string("name"), "série ✓")
        XCTAssertEqual(try group.attributes.strings("columns"), ["HUFL", "OT", "é"])
        XCTAssertEqual(try group.attributes.names(), ["columns", "mean", "name", "scale"])
        XCTAssertEqual(try group.openDataset("d").attributes.string("unit"), "kWh")
        XCTAssertFalse(group.attributes.contains("missing"))
        assertError(try group.attributes.string("missing"), mentions: ["missing", "'/g'", "attrs.h5"])
        assertError(try group.attributes.value("mean", as: Double.self), mentions: ["2 values", "mean"])
        assertError(try group.attributes.value("scale", as: Double.self), mentions: ["float32", "float64", "scale"])
        assertError(try group.attributes.string("scale"), mentions: ["not a string"])
    }

    /// A file's own attributes may be large (a shard's per-series ids and timestamps for tens of thousands of
    /// series): beyond the 64 KB an object header holds.
    func testLargeFileAttributesRoundTrip() throws {
        let filePath = path("large.h5")
        let ids = (0..<30_000).map { "series-\($0)" }
        do {
            let file = try File.create(filePath)
            try file.attributes.set("series_ids", to: ids)
            try file.attributes.set("firsts", to: (0..<30_000).map(Int64.init))
            try file.close()
        }
        let file = try File.open(filePath)
        XCTAssertEqual(try file.attributes.strings("series_ids"), ids)
        XCTAssertEqual(try file.attributes.values("firsts", as: Int64.self).last, 29_999)
    }

    /// Files written by other tools (h5py writes numpy bytes as fixed-length strings) read back too.
    func testFixedLengthStringAttributeWrittenByTheCAPI() throws {
        let filePath = path("fixed.h5")
        let fileID = H5Fcreate(filePath, ttm_h5f_acc_trunc(), ttm_h5p_default(), ttm_h5p_default())
        XCTAssertGreaterThanOrEqual(fileID, 0)
        let type = H5Tcopy(ttm_h5t_c_s1())
        H5Tset_size(type, 5)
        H5Tset_strpad(type, H5T_STR_NULLPAD)
        let space = H5Screate(H5S_SCALAR)
        let attribute = H5Acreate2(fileID, "freq", type, space, ttm_h5p_default(), ttm_h5p_default())
        XCTAssertGreaterThanOrEqual(H5Awrite(attribute, type, "1hour"), 0)
        H5Aclose(attribute); H5Sclose(space); H5Tclose(type); H5Fclose(fileID)

        XCTAssertEqual(try File.open(filePath).attributes.string("freq"), "1hour")
    }

    func testMissingFileNamesThePath() {
        let missing = path("does-not-exist.h5")
        assertError(try File.open(missing), mentions: [missing])
    }

    func testMissingDatasetNamesFileAndDataset() throws {
        let filePath = path("nodata.h5")
        let file = try File.create(filePath)
        _ = try file.createGroup("series")
        assertError(try file.openDataset("series/values"), mentions: [filePath, "/series/values"])
        assertError(try file.openGroup("nothing"), mentions: [filePath, "/nothing"])
    }

    func testWrongElementTypeNamesPathAndBothTypes() throws {
        let filePath = path("types.h5")
        let file = try File.create(filePath)
        try file.createDataset("x", of: Double.self, shape: [3]).write([1, 2, 3] as [Double])
        let dataset = try file.openDataset("x")
        assertError(try dataset.read(as: Float.self), mentions: [filePath, "'/x'", "float64", "not float32"])
        assertError(try dataset.write([1, 2, 3] as [Int64]), mentions: [filePath, "float64", "not int64"])
    }

    func testTruncatedFileNamesThePath() throws {
        let filePath = path("truncated.h5")
        do {
            let file = try File.create(filePath)
            try file.createDataset("x", of: Float.self, shape: [100_000]).write((0..<100_000).map(Float.init))
            try file.close()
        }
        let size = try FileManager.default.attributesOfItem(atPath: filePath)[.size] as! Int
        XCTAssertGreaterThan(size, 400_000)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filePath))
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()
        assertError(try File.open(filePath), mentions: [filePath, "truncated"])
    }

    func testForeignFileNamesThePath() throws {
        let filePath = path("not-hdf5.h5")
        try "timestamp,value\n2020-01-01,1\n".write(toFile: filePath, atomically: true, encoding: .utf8)
        assertError(try File.open(filePath), mentions: [filePath, "signature"])
    }

    func testCreateRefusesToOverwriteUnlessAsked() throws {
        let filePath = path("existing.h5")
        try File.create(filePath).close()
        assertError(try File.create(filePath), mentions: [filePath])
        XCTAssertNoThrow(try File.create(filePath, overwrite: true))
    }

    func testReadWriteModeKeepsContentsAndAllowsChanges() throws {
        let filePath = path("rw.h5")
        do {
            let file = try File.create(filePath)
            try file.createDataset("x", of: Int32.self, shape: [2, 2]).write([1, 2, 3, 4] as [Int32])
            try file.close()
        }
        do {
            let file = try File.open(filePath, mode: .readWrite)
            try file.openDataset("x").write([9] as [Int32], offset: [1, 1], count: [1, 1])
            try file.close()
        }
        XCTAssertEqual(try File.open(filePath).openDataset("x").read(as: Int32.self), [1, 2, 3, 9])
        let readOnly = try File.open(filePath)
        assertError(try readOnly.openDataset("x").write([0, 0, 0, 0] as [Int32]), mentions: [filePath, "'/x'"])
    }
}
