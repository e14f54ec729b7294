import Checkpoint
import Foundation
import XCTest

/// Generated bad CSVs (prepare and forecast), .npy inputs (forecast) and run configs (pretrain).
final class FuzzInputTests: CLITestCase {
    private var granite: String { shared.appendingPathComponent("fixtures/granite-ttm/small/model").path }

    private func write(_ bytes: [UInt8], _ name: String) throws -> String {
        let path = folder.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// An hourly CSV of two channels, rows 0..<count, as lines without their newlines.
    private func csvLines(count: Int = 120) -> [String] {
        let rows: [String] = (0..<count).map { (t: Int) -> String in
            let a: Double = sin(Double(t) / 5), b = Double(t % 7)
            return String(format: "2020-01-%02d %02d:00:00,%.3f,%.3f", 1 + t / 24, t % 24, a, b)
        }
        return ["date,a,b"] + rows
    }

    func testGeneratedBadCSVs() throws {
        var random = FuzzRandom(seed: 13)
        var cases: [FuzzCase] = []
        func add(_ name: String, _ lines: [String], mentioning: [String], extra: [String] = []) throws {
            let path = try write(Array((lines.joined(separator: "\n") + "\n").utf8), "\(name).csv")
            let output = folder.appendingPathComponent("\(name)-shards").path
            // The line and column named must come with the file's name.
            cases.append(FuzzCase(name: name, arguments: ["prepare", "--input", path, "--output", output] + extra,
                                  mentioning: mentioning.map { "\(name).csv: \($0)" }, outputs: [output]))
        }
        for k in 0..<6 {
            let r = random.int(1..<119)  // a data row; its line is r + 1
            var lines = csvLines()
            lines[r] = String(lines[r][..<lines[r].lastIndex(of: ",")!])
            try add("fields-\(k)", lines, mentioning: ["line \(r + 1) has 2 fields"])
            lines = csvLines(); lines[r] += ",9"
            try add("extra-\(k)", lines, mentioning: ["line \(r + 1) has 4 fields"])
            for (kind, token) in [("text", random.pick(["x", "1.2.3", "--1", "0x1g", "1e", "abc", "1,5".replacingOccurrences(of: ",", with: ";")])),
                                  ("infinite", random.pick(["inf", "-inf", "1e999", "-1e40"])), ("empty", ""), ("nan", random.pick(["NaN", "NA", "null"]))] {
                lines = csvLines()
                var fields = lines[r].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                fields[1] = token
                lines[r] = fields.joined(separator: ",")
                try add("\(kind)-\(k)", lines, mentioning: ["line \(r + 1), column 'a'"])
            }
            lines = csvLines()
            var fields = lines[r].split(separator: ",").map(String.init)
            fields[0] = random.pick(["notadate", "2020-13-01 00:00:00", "2020-01-01 25:00:00", "2020-02-30", "01/02/2020", "", "2020-01-01T"])
            lines[r] = fields.joined(separator: ",")
            try add("timestamp-\(k)", lines, mentioning: ["line \(r + 1), column 'date'"])
            lines = csvLines(); lines.swapAt(r, r + 1)
            try add("order-\(k)", lines, mentioning: ["line \(r + 2): timestamp"])
            lines = csvLines(); lines.insert(lines[r], at: r + 1)
            try add("duplicate-\(k)", lines, mentioning: ["line \(r + 2): duplicate timestamp"])
            let g = random.int(2..<118)
            lines = csvLines(); lines.remove(at: g)
            try add("gap-\(k)", lines, mentioning: ["line \(g + 1): 1 missing step(s)"])
            lines = csvLines()
            lines[g] = lines[g].replacingOccurrences(of: ":00:00,", with: ":30:00,")
            try add("irregular-\(k)", lines, mentioning: ["line \(g + 1): irregular spacing", "line \(g + 2): irregular spacing"])
            lines = csvLines()
            fields = lines[r].split(separator: ",").map(String.init)
            fields[2] = "\"" + fields[2]
            lines[r] = fields.joined(separator: ",")
            try add("quote-\(k)", lines, mentioning: ["line \(r + 1): unterminated quoted field"])
            // Cut inside a data line before its last field, as a disk-full copy would leave it (a cut inside the
            // last number can leave a shorter valid number: no reader can tell).
            lines = csvLines()
            let cut = random.int(2..<(lines[r].count - 5))
            let truncated = Array(lines[..<r]) + [String(lines[r].prefix(cut))]
            try add("truncated-\(k)", truncated, mentioning: ["line \(r + 1)"])
        }
        // Whole-file faults.
        var bytes = Array((csvLines().joined(separator: "\n") + "\n").utf8)
        bytes[bytes.count / 2] = 0xFF
        let notUTF8 = try write(bytes, "binary.csv")
        cases.append(FuzzCase(name: "not-utf8", arguments: ["prepare", "--input", notUTF8, "--output", folder.appendingPathComponent("o1").path],
                              mentioning: ["binary.csv: not UTF-8"], outputs: [folder.appendingPathComponent("o1").path]))
        var noise = FuzzRandom(seed: 99)
        let garbage = try write((0..<4096).map { _ in UInt8(truncatingIfNeeded: noise.next()) }, "garbage.csv")
        cases.append(FuzzCase(name: "garbage", arguments: ["prepare", "--input", garbage, "--output", folder.appendingPathComponent("o2").path],
                              mentioning: ["garbage.csv"], outputs: [folder.appendingPathComponent("o2").path]))
        try add("empty", [""], mentioning: ["empty file"])
        try add("header-only", ["date,a,b"], mentioning: ["header only"])
        try add("twice", ["date,a,a", "2020-01-01,1,2"], mentioning: ["line 1: column 'a' appears twice"])
        try add("no-values", ["date", "2020-01-01", "2020-01-02"], mentioning: ["no value columns"])
        try add("mixed-kinds", ["date,a", "2020-01-01,1", "3,2"], mentioning: ["line 3, column 'date'"])
        try add("target", csvLines(), mentioning: ["no column 'zz'"], extra: ["--target-columns", "zz"])
        try add("id", csvLines(), mentioning: ["no column 'store'"], extra: ["--id-columns", "store"])
        try add("too-short", csvLines(count: 20), mentioning: ["all 1 series are too short for one training window"], extra: ["--horizon", "96", "--context", "512"])
        try add("empty-split", csvLines(count: 50), mentioning: ["--split rows:50,60,70 leaves the validation split empty"], extra: ["--split", "rows:50,60,70"])
        // The same faults through forecast: its CSV reader must refuse them too, writing nothing.
        for k in 0..<4 {
            var lines = csvLines(count: 80)
            let r = random.int(1..<79)
            switch k {
            case 0: lines.swapAt(r, r + 1)
            case 1: lines[r] = lines[r].replacingOccurrences(of: "2020-", with: "20x0-")
            case 2: lines.remove(at: r)
            default: lines[r] += ",1"
            }
            let path = try write(Array((lines.joined(separator: "\n") + "\n").utf8), "forecast-\(k).csv")
            let output = folder.appendingPathComponent("forecast-\(k)-out.csv").path
            cases.append(FuzzCase(name: "forecast-\(k)", arguments: ["forecast", "--checkpoint", granite, "--input", path, "--output", output],
                                  mentioning: ["forecast-\(k).csv: line"], outputs: [output]))
        }
        try assertAllRefused(cases)
    }

    func testGeneratedBadNpyInputs() throws {
        let good = NumPyArray(shape: [1, 64, 3], values: (0..<192).map { sin(Float($0) / 9) }).npyData()
        let base = [UInt8](good)
        let headerEnd = 10 + Int(base[8]) | Int(base[9]) << 8
        var random = FuzzRandom(seed: 5)
        var cases: [FuzzCase] = []
        func add(_ name: String, _ bytes: [UInt8]) throws {
            let path = try write(bytes, "\(name).npy")
            let output = folder.appendingPathComponent("\(name)-out.npy").path
            cases.append(FuzzCase(name: name, arguments: ["forecast", "--checkpoint", granite, "--input", path, "--output", output],
                                  mentioning: ["\(name).npy"], outputs: [output]))
        }
        func withHeader(_ dictionary: String, data: [UInt8]? = nil) -> [UInt8] {
            var header = dictionary
            header += String(repeating: " ", count: (64 - (10 + header.utf8.count + 1) % 64) % 64) + "\n"
            return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
                + Array(header.utf8) + (data ?? Array(base[headerEnd...]))
        }
        for k in 0..<8 { try add("cut-\(k)", Array(base.prefix(random.int(0..<(base.count - 1))))) }
        for k in 0..<4 {
            var bytes = base
            bytes[random.int(0..<6)] ^= 0x20
            try add("magic-\(k)", bytes)
        }
        for (k, version) in [0, 4, 9, 255].enumerated() { var bytes = base; bytes[6] = UInt8(version); try add("version-\(k)", bytes) }
        for k in 0..<3 { var bytes = base; bytes[8] = 0xFF; bytes[9] = UInt8(0x10 + k); try add("header-length-\(k)", bytes) }
        for descr in ["<i4", ">f4", "|u1", "<c8", "O", "<f2", "|b1"] {
            try add("descr-\(descr.filter(\.isLetter))\(descr.filter(\.isNumber))",
                    withHeader("{'descr': '\(descr)', 'fortran_order': False, 'shape': (1, 64, 3), }"))
        }
        try add("fortran", withHeader("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 64, 3), }"))
        for (k, shape) in ["(2, 64, 3)", "(1, 63, 3)", "(1, 64, 3, 1)", "(-1, 64, 3)", "(99999999999, 64, 3)", "()", "(64, 3",
                           "(1, 64, x)", "(4611686018427387904, 4, 1)", "(0, 64, 3)"].enumerated() {
            try add("shape-\(k)", withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"))
        }
        try add("no-descr", withHeader("{'fortran_order': False, 'shape': (1, 64, 3), }"))
        try add("no-shape", withHeader("{'descr': '<f4', 'fortran_order': False, }"))
        for (k, bad) in [Float.nan, .infinity, -.infinity, .nan].enumerated() {
            var bytes = base
            let index = headerEnd + 4 * random.int(0..<192)
            withUnsafeBytes(of: bad.bitPattern.littleEndian) { for i in 0..<4 { bytes[index + i] = $0[i] } }
            try add("nonfinite-\(k)", bytes)
        }
        try assertAllRefused(cases)
    }

    /// Every key of a run config given a value it cannot take, unknown keys in every section, missing sections
    /// and YAML that does not parse: each refused naming the key (or the file), before any training.
    func testGeneratedBadRunConfigs() throws {
        let data = folder.appendingPathComponent("data").path
        try csvLines(count: 400).joined(separator: "\n").write(toFile: folder.appendingPathComponent("train.csv").path, atomically: true, encoding: .utf8)
        let prepared = try TTMProcess.run(["prepare", "--input", folder.appendingPathComponent("train.csv").path, "--output", data])
        XCTAssertEqual(prepared.status, 0, prepared.standardError)
        let run = folder.appendingPathComponent("run").path
        enum Kind { case int, float, rate, choice, input, output }
        let sections: [(String, [(String, String, Kind)])] = [
            ("model", [("context_length", "32", .int), ("prediction_length", "8", .int), ("patch_length", "8", .int),
                       ("num_backbone_levels", "1", .int), ("blocks_per_level", "1", .int), ("hidden_features", "8", .int),
                       ("decoder_layers", "1", .int), ("dropout", "0.1", .rate), ("head_dropout", "0.1", .rate)]),
            ("data", [("shards", "[\(data)]", .input), ("view", "univariate", .choice)]),
            ("training", [("global_batch_size", "8", .int), ("learning_rate", "1.0e-3", .float), ("warmup_steps", "1", .int),
                          ("schedule", "cosine", .choice), ("steps", "2", .int), ("weight_decay", "0.01", .float),
                          ("gradient_clip", "1.0", .float), ("seed", "3", .int), ("validation_every", "2", .int),
                          ("validation_batches", "1", .int), ("checksum_every", "1", .int), ("threads", "1", .int)]),
            ("checkpointing", [("directory", "\(run)/checkpoints", .output), ("every", "2", .int), ("keep", "1", .int)]),
            ("finetune", [("data", data, .input), ("epochs", "1", .int), ("learning_rate", "1.0e-3", .float), ("batch_size", "8", .int),
                          ("head_dropout", "0.1", .rate), ("decoder_mode", "mix_channel", .choice), ("patience", "1", .int),
                          ("max_batches_per_epoch", "1", .int), ("output", "\(run)/finetuned", .output)]),
            ("logging", [("metrics", "\(run)/metrics.jsonl", .output), ("progress_every", "1", .int)]),
        ]
        func yaml(replacing target: String? = nil, with value: String = "", dropping dropped: String? = nil, adding added: (String, String)? = nil) -> String {
            var text = ""
            for (section, keys) in sections where section != dropped {
                text += "\(section):\n"
                for (key, original, _) in keys where "\(section).\(key)" != dropped {
                    text += "  \(key): \("\(section).\(key)" == target ? value : original)\n"
                }
                if let added, added.0 == section { text += "  \(added.1): 1\n" }
            }
            return text
        }
        var cases: [FuzzCase] = [], random = FuzzRandom(seed: 21)
        func add(_ name: String, _ text: String, mentioning: [String]) throws {
            let path = folder.appendingPathComponent("\(name).yaml").path
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            cases.append(FuzzCase(name: name, arguments: ["pretrain", "--config", path], mentioning: mentioning,
                                  outputs: [run + "/checkpoints", run + "/metrics.jsonl", run + "/finetuned"]))
        }
        // The base config is valid: it trains (two steps, one fine-tuning batch).
        try yaml().write(toFile: folder.appendingPathComponent("good.yaml").path, atomically: true, encoding: .utf8)
        let good = try TTMProcess.run(["pretrain", "--config", folder.appendingPathComponent("good.yaml").path])
        XCTAssertEqual(good.status, 0, good.standardError)
        try FileManager.default.removeItem(atPath: run)

        for (section, keys) in sections {
            for (key, _, kind) in keys {
                let path = "\(section).\(key)"
                let values: [String] = switch kind {
                case .int: ["abc", "[1, 2]", "{x: 1}", "-7", "2.5", "99999999999999999999999", "true", "~"]
                case .float: ["abc", "[1]", "{x: 1}", "-7", ".nan", ".inf", "true"]
                case .rate: ["abc", "[1]", "-0.5", "1.5", ".nan"]
                case .choice: ["bogus", "[a]", "{x: 1}", "7"]
                case .input: ["/nonexistent/ttm-data", "[]", "{x: 1}"]
                case .output: ["/proc/ttm-forbidden/out", "[a]", "{x: 1}"]
                }
                // A type error always, and two more drawn at random: every value everywhere would take minutes.
                let drawn = [values[0]] + (0..<2).map { _ in values[random.int(1..<values.count)] }
                for (k, value) in drawn.enumerated() {
                    // A missing or unwritable path may be named by the path rather than the key.
                    let named = kind == .input || kind == .output ? ["'\(path)'", value] : ["'\(path)'"]
                    try add("\(path)-\(k)", yaml(replacing: path, with: value), mentioning: named)
                }
            }
            try add("\(section)-unknown", yaml(adding: (section, "bogus_key")), mentioning: ["'\(section).bogus_key'"])
        }
        for section in ["model", "data", "training"] {
            try add("\(section)-missing", yaml(dropping: section), mentioning: ["'\(section)'"])
        }
        try add("shards-missing", yaml(dropping: "data.shards"), mentioning: ["'data.shards'"])
        try add("steps-and-epochs", yaml(adding: ("training", "epochs")), mentioning: ["'training.steps'"])
        for (k, text) in ["model: [unclosed\n", "model:\n\tcontext_length: 3\n", "- a\n- b\n", "", "model: {a: 1\n", "\u{0}\u{1}binary"].enumerated() {
            try add("syntax-\(k)", text, mentioning: ["syntax-\(k).yaml"])
        }
        try assertAllRefused(cases)
    }
}
