import CHDF5
@testable import Corpus
import Foundation
import HDF5
import XCTest

final class PrepareTests: XCTestCase {
    var folder: URL!
    static var ett: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared/datasets/ETT-small/ETTh1.csv").path
    }

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-corpus-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    private func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    private func write(_ text: String, _ name: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }

    /// ETTh1 under the ETT hourly protocol: the split rows are exactly train [0, 8640), validation
    /// [8640 - 512, 11520), test [11520 - 512, 14400); the stored statistics equal a two-pass float64 mean and
    /// population standard deviation of rows [0, 8640).
    func testETTh1WithTheStandardProtocol() throws {
        let out = path("ett")
        let report = try Prepare.run(csv: Self.ett, output: out, options: .init(split: .ettHourly, context: 512))
        XCTAssertEqual(report.series, 1)
        XCTAssertEqual(report.rows, 17_420)
        XCTAssertEqual(report.channels, ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"])
        let corpus = try CorpusReader(folder: out)
        let ends = corpus.series[0].ends
        XCTAssertEqual([ends.0, ends.1, ends.2], [8640, 11520, 14400])
        XCTAssertEqual(Split.train.rows(ends: ends, context: corpus.context), 0..<8640)
        XCTAssertEqual(Split.validation.rows(ends: ends, context: corpus.context), 8128..<11520)
        XCTAssertEqual(Split.test.rows(ends: ends, context: corpus.context), 11008..<14400)

        // Independent two-pass float64 statistics straight from the CSV text.
        let lines = try String(contentsOfFile: Self.ett, encoding: .utf8).split(separator: "\n").dropFirst().prefix(8640)
        let rows = lines.map { $0.split(separator: ",").dropFirst().map { Double($0)! } }
        for c in 0..<7 {
            let mean = rows.reduce(0) { $0 + $1[c] } / 8640
            let variance = rows.reduce(0) { $0 + ($1[c] - mean) * ($1[c] - mean) } / 8640
            // The CSV's values pass through float32 in the shard, so agreement is to float32 precision.
            XCTAssertEqual(corpus.trainMean[c], mean, accuracy: 1e-6 * max(1, abs(mean)), "mean \(c)")
            XCTAssertEqual(corpus.trainStd[c], variance.squareRoot(), accuracy: 1e-6 * variance.squareRoot(), "std \(c)")
        }

        // Windows: 512 + 96 rows; counts per split, and the first test window is the CSV's rows.
        let test = WindowIndex(corpus, split: .test, view: .multivariate, context: 512, horizon: 96)
        XCTAssertEqual(test.count, 3392 - 608 + 1)
        XCTAssertEqual(WindowIndex(corpus, split: .train, view: .univariate, context: 512, horizon: 96).count, 7 * (8640 - 608 + 1))
        var window = [Float](repeating: 0, count: 608 * 7)
        try window.withUnsafeMutableBufferPointer { try test.read(0, from: corpus, into: $0) }
        let allLines = try String(contentsOfFile: Self.ett, encoding: .utf8).split(separator: "\n").dropFirst()
        let csvRow = allLines[allLines.startIndex + 11008].split(separator: ",").dropFirst().map { Float($0)! }
        XCTAssertEqual(Array(window[0..<7]), csvRow)
    }

    /// A long CSV with series of different lengths (two id columns): every value read back through windows,
    /// in both views, equals the CSV's number.
    func testLongFormatRoundTripsThroughWindows() throws {
        var csv = "store,item,ts,sales,price\n"
        var expected: [String: [[Float]]] = [:]
        for (store, item, length) in [("a", "1", 40), ("a", "2", 57), ("b", "1", 23)] {
            for t in 0..<length {
                let sales = Float(t * 3 + store.count) + 0.25, price = Float(length) - Float(t) * 0.5
                csv += "\(store),\(item),\(String(format: "2021-01-%02d %02d:00", 1 + t / 24, t % 24)),\(sales),\(price)\n"
                expected["\(store)/\(item)", default: []].append([sales, price])
            }
        }
        let input = try write(csv, "long.csv")
        let out = path("long")
        _ = try Prepare.run(csv: input, output: out, options: .init(
            layout: .init(timestampColumn: "ts", idColumns: ["store", "item"]), split: .ratio(train: 0.6, validation: 0.2, test: 0.2),
            shardBytes: 400))  // tiny shards: the series spread over several files
        let corpus = try CorpusReader(folder: out)
        XCTAssertGreaterThan(try FileManager.default.contentsOfDirectory(atPath: out).count, 1)
        XCTAssertEqual(corpus.series.map(\.id), ["a/1", "a/2", "b/1"])
        XCTAssertEqual(corpus.columns, ["sales", "price"])
        let context = 8, horizon = 4
        for view in [WindowIndex.View.multivariate, .univariate] {
            let index = WindowIndex(corpus, split: .train, view: view, context: context, horizon: horizon)
            XCTAssertEqual(index.skippedSeries, 0)
            let width = index.channels(corpus)
            var buffer = [Float](repeating: 0, count: 12 * width)
            var checked = 0
            for i in 0..<index.count {
                let w = index[i]
                try buffer.withUnsafeMutableBufferPointer { try index.read(i, from: corpus, into: $0) }
                let rows = expected[corpus.series[w.series].id]!
                for t in 0..<12 {
                    if let c = w.channel { XCTAssertEqual(buffer[t], rows[w.start + t][c]) } else {
                        XCTAssertEqual(Array(buffer[(t * 2)..<(t * 2 + 2)]), rows[w.start + t])
                    }
                }
                checked += 1
            }
            // train rows = floor(0.6 n): 24, 34, 13 → windows 13, 23, 2 per channel
            XCTAssertEqual(checked, (13 + 23 + 2) * (view == .univariate ? 2 : 1))
        }
        // Test splits (no context overlap here): [32, 40), [45, 57), [18, 23). Only the 12-row one holds a
        // 12-row window; the other two series are skipped and counted.
        let test = WindowIndex(corpus, split: .test, view: .multivariate, context: 8, horizon: 4)
        XCTAssertEqual(test.skippedSeries, 2)
        XCTAssertEqual(test.count, 1)
    }

    func testShardReadableWithTheHDF5CAPIOnly() throws {
        let input = try write("date,x,y\n1,1.5,2\n2,3,4\n3,5,6.5\n", "tiny.csv")
        _ = try Prepare.run(csv: input, output: path("tiny"), options: .init())
        let file = H5Fopen(path("tiny/part-00000.h5"), ttm_h5f_acc_rdonly(), ttm_h5p_default())
        XCTAssertGreaterThanOrEqual(file, 0)
        defer { H5Fclose(file) }
        let values = H5Dopen2(file, "values", ttm_h5p_default())
        defer { H5Dclose(values) }
        var data = [Float](repeating: 0, count: 6)
        XCTAssertGreaterThanOrEqual(H5Dread(values, ttm_h5t_native_float(), ttm_h5s_all(), ttm_h5s_all(), ttm_h5p_default(), &data), 0)
        XCTAssertEqual(data, [1.5, 2, 3, 4, 5, 6.5])
        let offsets = H5Dopen2(file, "offsets", ttm_h5p_default())
        defer { H5Dclose(offsets) }
        var bounds = [Int64](repeating: -1, count: 2)
        XCTAssertGreaterThanOrEqual(H5Dread(offsets, ttm_h5t_native_int64(), ttm_h5s_all(), ttm_h5s_all(), ttm_h5p_default(), &bounds), 0)
        XCTAssertEqual(bounds, [0, 3])
    }

    func testMissingValuePolicies() throws {
        let input = try write("date,id,v\n1,a,1\n2,a,\n3,a,3\n1,b,7\n2,b,8\n", "gaps.csv")
        XCTAssertThrowsError(try Prepare.run(csv: input, output: path("x"), options: .init(layout: .init(idColumns: ["id"])))) {
            XCTAssertTrue("\($0)".contains("gaps.csv: line 3, column 'v': missing value"), "\($0)")
        }
        let filled = try SeriesTable.read(csv: input, layout: .init(idColumns: ["id"]), missing: .ffill)
        XCTAssertEqual(filled.series[0].values, [1, 1, 3])
        let dropped = try SeriesTable.read(csv: input, layout: .init(idColumns: ["id"]), missing: .drop)
        XCTAssertEqual(dropped.series.map(\.id), ["b"])
        XCTAssertEqual(dropped.droppedForMissingValues, ["a"])
    }

    func testBadInputsNameFileLineAndColumnAndLeaveNothing() throws {
        let cases: [(String, String)] = [
            ("", "empty file"),
            ("date,a,b\n", "header only"),
            ("date,a,b\n1,2,3\n2,4\n", "line 3 has 2 fields, the header has 3"),
            ("date,a,b\n1,2,3\n2,x4,5\n", "line 3, column 'a': 'x4' is not a finite number"),
            ("date,a,b\n1,2,3\n1,4,5\n", "line 3: duplicate timestamp '1'"),
        ]
        for (index, (text, message)) in cases.enumerated() {
            let input = try write(text, "bad\(index).csv")
            XCTAssertThrowsError(try Prepare.run(csv: input, output: path("out"), options: .init())) {
                XCTAssertTrue("\($0)".contains("bad\(index).csv") && "\($0)".contains(message), "'\($0)' lacks '\(message)'")
            }
        }
        let good = try write("date,a\n1,2\n2,3\n", "good.csv")
        XCTAssertThrowsError(try Prepare.run(csv: good, output: path("out"), options: .init(layout: .init(targetColumns: ["b"])))) {
            XCTAssertTrue("\($0)".contains("no column 'b'"), "\($0)")
        }
        XCTAssertThrowsError(try Prepare.run(csv: good, output: "/proc/ttm-shards", options: .init())) {
            XCTAssertTrue("\($0)".contains("/proc/ttm-shards"), "\($0)")
        }
        XCTAssertThrowsError(try Prepare.run(csv: path("absent.csv"), output: path("out"), options: .init())) {
            XCTAssertTrue("\($0)".contains("absent.csv: no such file"), "\($0)")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasSuffix(".csv") }
        XCTAssertEqual(leftovers, [], "a failed prepare leaves nothing behind")
        // An existing output is kept unless --overwrite.
        _ = try Prepare.run(csv: good, output: path("out"), options: .init())
        XCTAssertThrowsError(try Prepare.run(csv: good, output: path("out"), options: .init())) {
            XCTAssertTrue("\($0)".contains("already exists"), "\($0)")
        }
        XCTAssertNoThrow(try Prepare.run(csv: good, output: path("out"), options: .init(overwrite: true)))
    }

    func testReaderRefusesTruncatedAndForeignFiles() throws {
        let input = try write("date,a\n" + (0..<5000).map { "\($0),\($0)" }.joined(separator: "\n") + "\n", "big.csv")
        _ = try Prepare.run(csv: input, output: path("shards"), options: .init())
        let shard = path("shards/part-00000.h5")
        let size = try FileManager.default.attributesOfItem(atPath: shard)[.size] as! Int
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: shard))
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()
        XCTAssertThrowsError(try CorpusReader(folder: path("shards"))) {
            XCTAssertTrue("\($0)".contains(shard), "\($0)")
        }
        try FileManager.default.createDirectory(atPath: path("foreign"), withIntermediateDirectories: true)
        try "not hdf5".write(toFile: path("foreign/part-00000.h5"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try CorpusReader(folder: path("foreign"))) {
            XCTAssertTrue("\($0)".contains("foreign/part-00000.h5") && "\($0)".contains("not a readable HDF5 shard"), "\($0)")
        }
    }

    /// Train statistics drive the loss and the metrics: a shard whose /train_std is short, NaN or negative is
    /// refused naming the file and the channel, never used as 1.
    func testReaderRefusesCorruptTrainStatistics() throws {
        let input = try write("date,a,b\n" + (0..<300).map { "\($0),\($0 % 7),\($0 % 5)" }.joined(separator: "\n") + "\n", "two.csv")
        for (name, values, expected) in [("short", [1.0], "hold 2 and 1 values for 2 channels"),
                                          ("nan", [1.0, .nan], "channel 'b'"), ("negative", [-1.0, 2.0], "channel 'a'")] {
            _ = try Prepare.run(csv: input, output: path(name), options: .init())
            let shard = path("\(name)/part-00000.h5")
            // Replace /train_std with `values` through the C API.
            let file = H5Fopen(shard, ttm_h5f_acc_rdwr(), ttm_h5p_default())
            XCTAssertGreaterThanOrEqual(file, 0)
            XCTAssertGreaterThanOrEqual(H5Ldelete(file, ShardSchema.trainStd, ttm_h5p_default()), 0)
            var dims = [hsize_t(values.count)]
            let space = H5Screate_simple(1, &dims, nil)
            let dataset = H5Dcreate2(file, ShardSchema.trainStd, ttm_h5t_native_double(), space, ttm_h5p_default(), ttm_h5p_default(), ttm_h5p_default())
            XCTAssertGreaterThanOrEqual(H5Dwrite(dataset, ttm_h5t_native_double(), ttm_h5s_all(), ttm_h5s_all(), ttm_h5p_default(), values), 0)
            H5Dclose(dataset); H5Sclose(space); H5Fclose(file)
            XCTAssertThrowsError(try CorpusReader(folder: path(name)), name) {
                XCTAssertTrue("\($0)".contains(shard) && "\($0)".contains(expected), "\($0)")
            }
        }
    }

    /// A shard set is checked against its own metadata: a part missing or present twice, a part of another set,
    /// or a series id in two parts is refused naming the folder or the files.
    func testReaderRefusesIncompleteOrMixedShardSets() throws {
        let input = try write("id,date,v\n" + ["a", "b", "c"].flatMap { id in (0..<50).map { "\(id),\($0),\($0)" } }.joined(separator: "\n") + "\n", "three.csv")
        let options = PrepareOptions(layout: .init(idColumns: ["id"]), shardBytes: 200)
        func fresh(_ name: String) throws -> String {
            _ = try Prepare.run(csv: input, output: path(name), options: options)
            XCTAssertEqual(try CorpusReader(folder: path(name)).series.count, 3)
            return path(name)
        }
        let missing = try fresh("missing")
        try FileManager.default.removeItem(atPath: missing + "/part-00001.h5")
        XCTAssertThrowsError(try CorpusReader(folder: missing)) {
            XCTAssertTrue("\($0)".contains("2 shard file(s) but the set has 3 parts") && "\($0)".contains("missing part(s) 1"), "\($0)")
        }
        let doubled = try fresh("doubled")
        try FileManager.default.copyItem(atPath: doubled + "/part-00000.h5", toPath: doubled + "/part-00003.h5")
        XCTAssertThrowsError(try CorpusReader(folder: doubled)) {
            XCTAssertTrue("\($0)".contains("part-00003.h5: part 0 of the set, like") && "\($0)".contains("part-00000.h5"), "\($0)")
        }
        let twice = try fresh("twice")
        let file = try HDF5.File.open(twice + "/part-00002.h5", mode: .readWrite)
        try file.attributes.set("series_ids", to: ["a"])
        try file.close()
        XCTAssertThrowsError(try CorpusReader(folder: twice)) {
            XCTAssertTrue("\($0)".contains("part-00002.h5: series 'a' is also in") && "\($0)".contains("part-00000.h5"), "\($0)")
        }
        let foreign = try fresh("foreign")
        let other = try HDF5.File.open(foreign + "/part-00001.h5", mode: .readWrite)
        try other.attributes.set("shards", to: Int64(5))
        try other.close()
        XCTAssertThrowsError(try CorpusReader(folder: foreign)) {
            XCTAssertTrue("\($0)".contains("disagree on how many parts"), "\($0)")
        }
    }
}
