import Checkpoint
import Foundation
import HDF5
import XCTest

/// Generated bad model folders (config.json, model.safetensors) and prepared shards.
final class FuzzModelFileTests: CLITestCase {
    private var granite: URL { shared.appendingPathComponent("fixtures/granite-ttm/small/model") }

    /// A copy of the small granite model with `config` and `weights` (raw bytes) in place of its own.
    private func folder(_ name: String, config: Data? = nil, weights: [UInt8]? = nil) throws -> String {
        let path = folder.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: path, withIntermediateDirectories: true)
        try (config ?? Data(contentsOf: granite.appendingPathComponent("config.json"))).write(to: path.appendingPathComponent("config.json"))
        try (weights.map { Data($0) } ?? Data(contentsOf: granite.appendingPathComponent("model.safetensors")))
            .write(to: path.appendingPathComponent("model.safetensors"))
        return path.path
    }

    func testGeneratedBadConfigJSON() throws {
        let original = try JSONSerialization.jsonObject(with: Data(contentsOf: granite.appendingPathComponent("config.json"))) as! [String: Any]
        var random = FuzzRandom(seed: 31)
        var cases: [FuzzCase] = []
        func add(_ name: String, _ json: Data, mentioning: [String]) throws {
            cases.append(FuzzCase(name: name, arguments: ["inspect", try folder(name, config: json)], mentioning: mentioning))
        }
        func edited(_ key: String, _ value: Any) throws -> Data {
            var json = original
            json[key] = value
            return try JSONSerialization.data(withJSONObject: json, options: [.fragmentsAllowed])
        }
        let integers = ["adaptive_patching_levels", "context_length", "d_model", "decoder_d_model", "decoder_num_layers", "expansion_factor",
                        "num_input_channels", "num_layers", "patch_length", "patch_stride", "prediction_length"]
        let badIntegers: [Any] = ["abc", -4, 2.5, 1_000_000_000_000, true, [1], ["a": 1], NSNull(), 0]
        for key in integers {
            let drawn = [badIntegers[0]] + (0..<3).map { _ in badIntegers[random.int(1..<(badIntegers.count - 1))] }
            for (k, value) in drawn.enumerated() {
                // 0 levels is a valid adaptive_patching_levels; every other key here needs at least 1.
                try add("\(key)-\(k)", try edited(key, value), mentioning: ["'\(key)'"])
            }
            if key != "adaptive_patching_levels" { try add("\(key)-zero", try edited(key, 0), mentioning: ["'\(key)'"]) }
        }
        for (key, values) in [("mode", ["bogus", 7] as [Any]), ("decoder_mode", ["bogus", 7]), ("gated_attn", ["yes", 1]),
                              ("model_type", ["patchtst", 3]), ("scaling", ["minmax", 5]), ("norm_mlp", ["GroupNorm", 1]),
                              ("dropout", ["abc", -0.5, 1.5]), ("head_dropout", ["abc", -0.5, 1.5])] {
            for (k, value) in values.enumerated() { try add("\(key)-\(k)", try edited(key, value), mentioning: ["'\(key)'"]) }
        }
        let text = try Data(contentsOf: granite.appendingPathComponent("config.json"))
        for k in 0..<8 { try add("cut-\(k)", text.prefix(random.int(0..<(text.count - 2))), mentioning: ["config.json"]) }
        for (k, body) in ["[]", "42", "\"text\"", "{\"a\": }", "\u{0}\u{1}"].enumerated() { try add("shape-\(k)", Data(body.utf8), mentioning: ["config.json"]) }
        try assertAllRefused(cases)
    }

    func testGeneratedBadSafetensors() throws {
        let base = [UInt8](try Data(contentsOf: granite.appendingPathComponent("model.safetensors")))
        let headerLength = (0..<8).reduce(0) { $0 | Int(base[$1]) << (8 * $1) }
        let header = try JSONSerialization.jsonObject(with: Data(base[8..<(8 + headerLength)])) as! [String: Any]
        let names = header.keys.filter { $0 != "__metadata__" }.sorted()
        var random = FuzzRandom(seed: 47)
        var cases: [FuzzCase] = []
        func add(_ name: String, _ bytes: [UInt8], mentioning: [String] = []) throws {
            cases.append(FuzzCase(name: name, arguments: ["inspect", try folder(name, weights: bytes)],
                                  mentioning: ["\(name)/model.safetensors"] + mentioning))
        }
        /// The file with its header replaced by `edit` applied to the parsed one (data bytes unchanged).
        func rewritten(_ edit: (inout [String: Any]) -> Void) throws -> [UInt8] {
            var json = header
            edit(&json)
            let text = [UInt8](try JSONSerialization.data(withJSONObject: json))
            let length = withUnsafeBytes(of: UInt64(text.count).littleEndian) { Array($0) }
            return length + text + Array(base[(8 + headerLength)...])
        }
        for k in 0..<10 { try add("cut-\(k)", Array(base.prefix(random.int(0..<(base.count - 1))))) }
        for (k, length) in [0, 7, UInt64(base.count), UInt64(1) << 62, UInt64.max].enumerated() {
            var bytes = base
            withUnsafeBytes(of: UInt64(length).littleEndian) { for i in 0..<8 { bytes[i] = $0[i] } }
            try add("length-\(k)", bytes)
        }
        for k in 0..<6 { var bytes = base; bytes[8 + random.int(1..<(headerLength - 1))] = UInt8(ascii: "\""); try add("quote-\(k)", bytes) }
        for k in 0..<6 {
            let name = random.pick(names)
            let edit = k % 3
            try add("entry-\(k)", try rewritten { json in
                var entry = json[name] as! [String: Any]
                switch edit {
                case 0: entry["dtype"] = random.pick(["I32", "F64", "BF16", "XX", "F16"])
                case 1: entry["shape"] = (entry["shape"] as! [Int]).map { $0 + 1 }
                default: entry["data_offsets"] = [0, base.count * 2]
                }
                json[name] = entry
            }, mentioning: [name])
            let removed = random.pick(names)
            try add("missing-\(k)", try rewritten { $0[removed] = nil }, mentioning: [removed])
        }
        for k in 0..<4 {
            let name = random.pick(names)
            let entry = header[name] as! [String: Any], offsets = entry["data_offsets"] as! [Int]
            var bytes = base
            let at = 8 + headerLength + offsets[0] + 4 * random.int(0..<((offsets[1] - offsets[0]) / 4))
            withUnsafeBytes(of: random.pick([Float.nan, .infinity, -.infinity]).bitPattern.littleEndian) { for i in 0..<4 { bytes[at + i] = $0[i] } }
            try add("nonfinite-\(k)", bytes, mentioning: [name])
        }
        try assertAllRefused(cases.map { var c = $0; c.mentioning = [c.mentioning[0]] + c.mentioning.dropFirst().map { "'\($0)'" }; return c })
    }

    /// Shards damaged on disk or whose metadata disagrees with itself: evaluate refuses them before scoring.
    func testGeneratedBadShards() throws {
        var csv = "date,a,b,c\n"
        for t in 0..<300 { csv += "\(t),\(sin(Double(t) / 4)),\(Double(t % 9)),\(cos(Double(t) / 11))\n" }
        let input = folder.appendingPathComponent("series.csv").path
        try csv.write(toFile: input, atomically: true, encoding: .utf8)
        var random = FuzzRandom(seed: 59)
        var cases: [FuzzCase] = []
        func shards(_ name: String, _ damage: (String) throws -> Void) throws {
            let data = folder.appendingPathComponent(name).path
            let prepared = try TTMProcess.run(["prepare", "--input", input, "--output", data, "--split", "rows:200,250,300", "--context", "64"])
            XCTAssertEqual(prepared.status, 0, prepared.standardError)
            try damage(data + "/part-00000.h5")
            let report = folder.appendingPathComponent("\(name).json").path
            cases.append(FuzzCase(name: name, arguments: ["evaluate", "--checkpoint", granite.path, "--data", data, "--report", report],
                                  mentioning: [name + "/part-00000.h5", name + ":"], outputs: [report]))
        }
        func edit(_ path: String, _ body: (HDF5.File) throws -> Void) throws {
            let file = try HDF5.File.open(path, mode: .readWrite)
            try body(file)
            try file.close()
        }
        for k in 0..<6 {
            try shards("cut-\(k)") { path in
                let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
                let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
                try handle.truncate(atOffset: UInt64(random.int(0..<(size - 1))))
                try handle.close()
            }
        }
        try shards("signature") { path in
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.write(contentsOf: Data(repeating: 0, count: 8))
            try handle.close()
        }
        let attributeEdits: [(String, (HDF5.File) throws -> Void)] = [
            ("schema", { try $0.attributes.set("schema", to: "ttm-shard/9") }),
            ("columns", { try $0.attributes.set("columns", to: ["a", "b"]) }),
            ("ids", { try $0.attributes.set("series_ids", to: ["x", "y"]) }),
            ("parts", { try $0.attributes.set("shards", to: Int64(3)) }),
            ("part-number", { try $0.attributes.set("shard", to: Int64(1)) }),
            ("context-type", { try $0.attributes.set("context", to: "x") }),
            ("offsets-order", { try $0.openDataset("offsets").write([Int64(300), 0]) }),
            ("offsets-end", { try $0.openDataset("offsets").write([Int64(0), 299]) }),
            ("splits", { try $0.openDataset("splits").write([Int64(200), 250, 301]) }),
            ("splits-order", { try $0.openDataset("splits").write([Int64(250), 200, 300]) }),
            ("std-nan", { try $0.openDataset("train_std").write([1.0, .nan, 1.0]) }),
            ("std-negative", { try $0.openDataset("train_std").write([1.0, 1.0, -2.0]) }),
            ("mean-inf", { try $0.openDataset("train_mean").write([Double.infinity, 0, 0]) }),
        ]
        for (name, change) in attributeEdits { try shards(name) { try edit($0, change) } }
        try assertAllRefused(cases)
    }
}
