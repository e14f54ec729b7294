import Foundation
import Models
import NN
import TTM
import XCTest

enum Shared {
    static var url: URL {
        if let path = ProcessInfo.processInfo.environment["TTM_SHARED_DIR"] { return URL(fileURLWithPath: path) }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared")
    }
    static let granite = ["small", "small_apl2", "small_mixchannel"]
    static func granite(_ folder: String) -> URL { url.appendingPathComponent("fixtures/granite-ttm/\(folder)") }
}

struct Missing: Error, CustomStringConvertible {
    let path: String
    var description: String { "missing fixture \(path) (tests expect ../shared beside the checkout, or TTM_SHARED_DIR)" }
}

func readFloats(_ url: URL) throws -> [Float] {
    guard let data = FileManager.default.contents(atPath: url.path) else { throw Missing(path: url.path) }
    return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) } }
}

func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "length \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// A TTM model folder loaded through the product's `ModelFolder`, as the TTM model and its parameters.
func loadTTM(_ directory: String) throws -> (model: TTMModel, store: ParameterStore) {
    let loaded = try ModelFolder.load(directory)
    return (try XCTUnwrap(loaded.network as? TTMModel, "\(directory) holds a \(loaded.config.kind)"), loaded.store)
}
