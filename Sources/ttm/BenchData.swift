import ArgumentParser
import Corpus
import Foundation
import Training

struct BenchData: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "data",
        abstract: "Window read rate (windows/s) from prepared shards, in the sampler's random order.",
        discussion: "Give --shards DIR (a `ttm prepare` output), or --synthetic-gb N to write and read a synthetic corpus of that size in a temporary folder.")

    @Option(help: "A prepared folder.") var shards: String?
    @Option(help: "Size of a synthetic corpus to generate and measure (GB of float32 values).") var syntheticGb: Double?
    @Option var context: Int = 512
    @Option var horizon: Int = 96
    @Option(help: "Windows to read.") var windows: Int = 20000
    @Flag(help: "Read all channels together (fine-tuning) instead of one channel per window (pretraining).") var multivariate = false

    func validate() throws {
        guard (shards == nil) != (syntheticGb == nil) else { throw ValidationError("give exactly one of --shards and --synthetic-gb") }
        if let syntheticGb, !(syntheticGb > 0) { throw ValidationError("--synthetic-gb must be positive") }
    }

    func run() throws {
        var folder = shards ?? ""
        var temporary: URL?
        if let syntheticGb {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-bench-data-\(ProcessInfo.processInfo.processIdentifier)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            temporary = root
            folder = root.appendingPathComponent("corpus").path
            let start = ContinuousClock.now
            try writeSynthetic(gigabytes: syntheticGb, to: folder)
            print("wrote \(syntheticGb) GB synthetic corpus in \(ContinuousClock.now - start)")
        }
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        let corpus = try CorpusReader(folder: folder)
        let index = WindowIndex(corpus, split: .train, view: multivariate ? .multivariate : .univariate, context: context, horizon: horizon)
        guard index.count > 0 else { throw ValidationError("no training windows of \(context + horizon) rows in \(folder)") }
        let permutation = EpochPermutation(count: index.count, seed: 1, epoch: 0)
        var buffer = [Float](repeating: 0, count: index.length * index.channels(corpus))
        let n = min(windows, index.count)
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            try buffer.withUnsafeMutableBufferPointer { b in
                for i in 0..<n { try index.read(permutation[i], from: corpus, into: b) }
            }
        }
        let seconds = elapsed.inSeconds
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).count
        print("corpus: \(corpus.series.count) series, \(corpus.channels) channels, \(files) shard(s); \(index.count) \(multivariate ? "multivariate" : "univariate") train windows of \(index.length) rows (\(index.skippedSeries) series too short)")
        print(String(format: "read %d windows in random order: %.0f windows/s (%.1f µs each)", n, Double(n) / seconds, seconds / Double(n) * 1e6))
    }

    private func writeSynthetic(gigabytes: Double, to folder: String) throws {
        let channels = 8, length = 20_000
        let seriesCount = max(1, Int(gigabytes * 1e9 / Double(4 * channels * length)))
        var table = SeriesTable(columns: (0..<channels).map { "c\($0)" }, series: [])
        for s in 0..<seriesCount {
            var values = [Float](repeating: 0, count: length * channels)
            for t in 0..<length {
                for c in 0..<channels {
                    values[t * channels + c] = sin(Float(t) * 0.01 * Float(c + 1) + Float(s)) + Float((t * 7919 + c * 104_729 + s) % 1000) * 1e-3
                }
            }
            table.series.append(.init(id: "s\(s)", timestamps: (0..<length).map(String.init), values: values))
        }
        _ = try Prepare.write(table, source: "synthetic", output: folder, options: .init(split: .ratio(train: 0.8, validation: 0.1, test: 0.1)))
    }
}
