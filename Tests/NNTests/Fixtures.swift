import Foundation
import XCTest
import NN

/// The shared folder beside the checkout (../shared), or TTM_SHARED_DIR.
enum SharedFolder {
    static var url: URL {
        if let path = ProcessInfo.processInfo.environment["TTM_SHARED_DIR"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared")
    }
}

struct FixtureMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "fixture file missing: \(path) (tests expect ../shared beside the checkout, or TTM_SHARED_DIR)" }
}

/// Raw little-endian float32 files.
func readFloat32(_ url: URL) throws -> [Float] {
    guard let data = FileManager.default.contents(atPath: url.path) else { throw FixtureMissing(path: url.path) }
    return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
}

/// One case/variant folder of ../shared/fixtures/kerasfactory.
struct KerasFixture {
    let folder: URL
    let config: [String: Any]

    init(case name: String, variant: String) throws {
        let root = SharedFolder.url.appendingPathComponent("fixtures/kerasfactory")
        folder = root.appendingPathComponent(name).appendingPathComponent(variant)
        let manifestURL = root.appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: manifestURL.path) else { throw FixtureMissing(path: manifestURL.path) }
        let manifest = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let cases = manifest["cases"] as! [[String: Any]]
        let entry = cases.first { ($0["case"] as? String) == name && ($0["variant"] as? String) == variant }!
        config = entry["config"] as! [String: Any]
    }

    func tensor(_ name: String) throws -> [Float] { try readFloat32(folder.appendingPathComponent(name + ".f32")) }

    func names(in subfolder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent(subfolder).path)
            .filter { $0.hasSuffix(".f32") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// Keras stores Dense kernels [in, out] under `.kernel`; ours are PyTorch's [out, in] under `.weight`.
    static func ourName(_ kerasName: String) -> String {
        kerasName.hasSuffix(".kernel") ? String(kerasName.dropLast(7)) + ".weight" : kerasName
    }

    /// A Keras tensor in our layout for `view`.
    static func convert(_ values: [Float], kerasName: String, to view: ParameterView) -> [Float] {
        guard kerasName.hasSuffix(".kernel") else { return values }
        let outs = view.shape[0], ins = view.shape[1]
        var result = [Float](repeating: 0, count: values.count)
        for i in 0..<ins { for o in 0..<outs { result[o * ins + i] = values[i * outs + o] } }
        return result
    }
}

/// |a - b| ≤ tolerance · max|b| elementwise, with the worst element in the failure message.
func assertClose(_ actual: [Float], _ expected: [Float], relativeTo factor: Float, _ what: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(what): length", file: file, line: line)
    guard actual.count == expected.count, !expected.isEmpty else { return }
    let scale = max(expected.map(abs).max()!, 1e-30)
    var worst = 0, worstError: Float = -1
    for i in expected.indices {
        let error = abs(actual[i] - expected[i])
        if !(error <= worstError) { worst = i; worstError = error }
    }
    XCTAssertLessThanOrEqual(worstError, factor * scale,
        "\(what): element \(worst) is \(actual[worst]), expected \(expected[worst]) (max|ref| \(scale))",
        file: file, line: line)
}
