import Checkpoint
import Foundation
import XCTest

final class SafeTensorsTests: XCTestCase {
    private var shared: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    }

    private func header(_ json: String, data: [UInt8] = []) -> Data {
        var bytes = Data()
        var length = UInt64(json.utf8.count).littleEndian
        withUnsafeBytes(of: &length) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: Array(json.utf8))
        bytes.append(contentsOf: data)
        return bytes
    }

    private func assertRejected(_ bytes: Data, mentions part: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensors(bytes: bytes, source: "bad.safetensors"), file: file, line: line) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.hasPrefix("bad.safetensors: "), text, file: file, line: line)
            XCTAssertTrue(text.contains(part), "'\(text)' does not mention '\(part)'", file: file, line: line)
        }
    }

    /// Re-encoding the reference checkpoint's tensors gives the very bytes PyTorch wrote.
    func testEncodingReproducesPyTorchsFileByteForByte() throws {
        for folder in ["small", "small_apl2", "small_mixchannel"] {
            let path = shared.appendingPathComponent("fixtures/granite-ttm/\(folder)/model/model.safetensors").path
            let original = try XCTUnwrap(FileManager.default.contents(atPath: path), path)
            let file = try SafeTensors(bytes: original, source: path)
            XCTAssertEqual(file.metadata, ["format": "pt"])
            let entries = try file.tensors.map { SafeTensors.Entry(name: $0.name, shape: $0.shape, values: try file.floats($0.name)) }
            XCTAssertEqual(SafeTensors.encode(entries), original, folder)
        }
    }

    func testRoundTripThroughADiskFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("rt-\(UUID().uuidString).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let entries = [
            SafeTensors.Entry(name: "b.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, -6.5]),
            SafeTensors.Entry(name: "a.bias", shape: [3], values: [.pi, -0, 1e-30]),
            SafeTensors.Entry(name: "empty", shape: [0, 4], values: []),
        ]
        try SafeTensors.write(entries, to: path)
        let file = try SafeTensors.read(contentsOf: path)
        XCTAssertEqual(Set(file.names), ["a.bias", "b.weight", "empty"])
        XCTAssertEqual(try file.floats("b.weight"), [1, 2, 3, 4, 5, -6.5])
        XCTAssertEqual(try file.floats("a.bias").map(\.bitPattern), [Float.pi, -0, 1e-30].map(\.bitPattern))
        XCTAssertEqual(file["b.weight"]?.shape, [2, 3])
        XCTAssertEqual(try file.floats("empty"), [])
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: path))
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        XCTAssertEqual(headerLength % 8, 0, "header padded to 8 bytes")
        XCTAssertTrue(String(decoding: bytes[8..<(8 + headerLength)], as: UTF8.self).hasPrefix("{\"__metadata__\":{\"format\":\"pt\"},\"a.bias\":"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: FileManager.default.temporaryDirectory.path).filter { $0.contains(".tmp-") && $0.contains("rt-") }
        XCTAssertEqual(leftovers, [], "no temporary file left behind")
    }

    func testTruncatedFiles() {
        assertRejected(Data([1, 2, 3]), mentions: "truncated")
        assertRejected(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}").prefix(20), mentions: "truncated")
        assertRejected(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data: [0, 0, 0, 0]), mentions: "outside")
    }

    func testHugeHeaderLength() {
        var bytes = Data(repeating: 0xFF, count: 8)
        bytes.append(contentsOf: Array("{}".utf8))
        assertRejected(bytes, mentions: "exceeds")
    }

    func testOffsetsOutOfRange() {
        assertRejected(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", data: [0, 0, 0, 0]), mentions: "data_offsets")
        assertRejected(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", data: [0, 0, 0, 0]), mentions: "data_offsets")
        assertRejected(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4000000000000]}}", data: [0, 0, 0, 0]), mentions: "outside")
    }

    func testWrongDtype() {
        assertRejected(header("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", data: [0, 0, 0, 0]), mentions: "dtype F16")
    }

    func testShapeMismatch() {
        assertRejected(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data: Array(repeating: 0, count: 8)), mentions: "shape [3]")
        assertRejected(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}", data: Array(repeating: 0, count: 8)), mentions: "shape")
        assertRejected(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,8]}}", data: Array(repeating: 0, count: 8)), mentions: "shape")
    }

    func testNotJSONOverlapsAndHoles() {
        assertRejected(header("not json"), mentions: "JSON")
        assertRejected(header("[1,2]"), mentions: "JSON object")
        assertRejected(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                              data: Array(repeating: 0, count: 8)), mentions: "overlaps")
        assertRejected(header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", data: Array(repeating: 0, count: 8)), mentions: "belong to no tensor")
        assertRejected(header("{\"__metadata__\":{\"format\":3}}"), mentions: "__metadata__")
    }

    func testMissingFileAndTensor() throws {
        XCTAssertThrowsError(try SafeTensors.read(contentsOf: "/nonexistent/model.safetensors")) { error in
            XCTAssertTrue(String(describing: error).contains("/nonexistent/model.safetensors: no such file"), "\(error)")
        }
        let file = try SafeTensors(bytes: SafeTensors.encode([.init(name: "x", shape: [1], values: [2])]), source: "m.safetensors")
        XCTAssertThrowsError(try file.floats("y")) { XCTAssertTrue(String(describing: $0).contains("no tensor 'y'")) }
    }
}
