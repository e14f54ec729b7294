@testable import Corpus
import Foundation
import XCTest

/// The pretraining recipe's two data pieces: resolution sampling (downsampled copies of a series) and
/// per-corpus balancing (at most a cap of windows of each corpus per epoch).
final class RecipeTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-recipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    /// Blocks of k rows aligned to the last row, each the mean of its rows, stamped with its last timestamp;
    /// the frequency multiplied by k; a series shorter than k left out.
    func testDownsamplingAveragesBlocksAlignedToTheLastRow() {
        let hourly = Frequency(unit: .microseconds, count: 3_600_000_000)
        let long = SeriesTable.Series(id: "a", timestamps: (0..<7).map { "t\($0)" }, values: (0..<14).map(Float.init), frequency: hourly)
        let short = SeriesTable.Series(id: "b", timestamps: ["u0", "u1"], values: [1, 2, 3, 4], frequency: hourly)
        let table = SeriesTable(columns: ["x", "y"], series: [long, short]).downsampled(by: 3)
        XCTAssertEqual(table.series.map(\.id), ["a"])
        let a = table.series[0]
        XCTAssertEqual(a.timestamps, ["t3", "t6"])  // row 0 is left out; blocks [1, 2, 3] and [4, 5, 6]
        let expected: [Float] = [4, 5, 10, 11]  // (2+4+6)/3, (3+5+7)/3, (8+10+12)/3, (9+11+13)/3
        XCTAssertEqual(a.values, expected)
        XCTAssertEqual(a.frequency, Frequency(unit: .microseconds, count: 3 * 3_600_000_000))
        XCTAssertEqual(a.frequency?.description, "PT3H")
    }

    private func corpus(_ name: String, rows: Int) throws -> CorpusReader {
        let csv = "t,x\n" + (0..<rows).map { "\($0),\(Float($0 % 17))" }.joined(separator: "\n") + "\n"
        let input = folder.appendingPathComponent("\(name).csv").path
        try csv.write(toFile: input, atomically: true, encoding: .utf8)
        let out = folder.appendingPathComponent(name).path
        _ = try Prepare.run(csv: input, output: out, options: .init(layout: .init(timestampColumn: "t"), split: .ratio(train: 1, validation: 0, test: 0)))
        return try CorpusReader(folder: out)
    }

    /// A big corpus (500 windows) and a small one (20) under a cap of 50: 70 samples an epoch, 20 of each
    /// corpus' own windows... the big one's 50 distinct and different from epoch to epoch, all the small one's.
    func testBalancingCapsEachCorpusAndRotatesTheBigOnesSubset() throws {
        let source = try WindowSource(corpora: [try corpus("big", rows: 511), corpus("small", rows: 31)], split: .train,
                                      view: .univariate, context: 8, horizon: 4)
        XCTAssertEqual(source.starts, [0, 500, 520])
        let balanced = BalancedWindows(source, cap: 50, globalBatch: 7, seed: 3)
        XCTAssertEqual(balanced.count, 70)
        XCTAssertEqual(balanced.perCorpus, [50, 20])
        func epoch(_ e: Int) -> [Int] { (0..<70).map { balanced.window($0, epoch: e) } }
        let first = epoch(0), second = epoch(1)
        XCTAssertEqual(Set(first.prefix(50)).count, 50)
        XCTAssertTrue(first.prefix(50).allSatisfy { $0 < 500 })
        XCTAssertEqual(Array(first.suffix(20)), Array(500..<520))
        XCTAssertNotEqual(Set(first.prefix(50)), Set(second.prefix(50)), "a new subset of the big corpus each epoch")
        XCTAssertEqual(epoch(0), first, "a pure function of seed, epoch and sample")
        // Loading by training step: step 10 of 7-sample batches is in epoch 1 (10 batches per epoch).
        let batch = WindowBatch(capacity: 2, context: 8, horizon: 4, channels: 1)
        try balanced.load([3, 60], step: 10, into: batch)
        let direct = WindowBatch(capacity: 2, context: 8, horizon: 4, channels: 1)
        try source.load([second[3], second[60]], into: direct)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: batch.past, count: 16)), Array(UnsafeBufferPointer(start: direct.past, count: 16)))
    }
}
