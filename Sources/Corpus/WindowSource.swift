import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Numbered training samples a data-parallel sampler draws from: a forecaster's windows, a flow's images.
public protocol SampleSource: AnyObject {
    var count: Int { get }
    /// Loads samples `ids` into the batch (slot i gets the i-th id) for training step `step` (which keys any
    /// randomness of the loading itself, the same on every rank, e.g. a flow's dequantisation noise).
    func load<Samples: Sequence<Int>>(_ ids: Samples, step: Int, into batch: WindowBatch) throws
}

/// Windows of one split over several prepared folders, numbered 0..<count, and batch loading: one call fills
/// a batch's past values, future values and per-window scaling.
public final class WindowSource: SampleSource {
    public let corpora: [CorpusReader]
    public let indices: [WindowIndex]
    public let context: Int
    public let horizon: Int
    public let channels: Int
    public let count: Int
    public var skippedSeries: Int { indices.reduce(0) { $0 + $1.skippedSeries } }
    /// Where each corpus' windows start in 0..<count (and count at the end).
    public let starts: [Int]
    private var window: [Float]

    public init(corpora: [CorpusReader], split: Split, view: WindowIndex.View, context: Int, horizon: Int) throws {
        self.corpora = corpora
        self.context = context
        self.horizon = horizon
        indices = corpora.map { WindowIndex($0, split: split, view: view, context: context, horizon: horizon) }
        let widths = Set(zip(indices, corpora).map { $0.channels($1) })
        guard widths.count <= 1 else { throw DataError("the prepared folders have different channel counts \(widths.sorted())") }
        channels = widths.first ?? 1
        var starts = [0]
        for index in indices { starts.append(starts.last! + index.count) }
        self.starts = starts
        count = starts.last!
        window = [Float](repeating: 0, count: (context + horizon) * channels)
    }

    /// Opens prepared folders given as paths or globs.
    public static func open(_ patterns: [String]) throws -> [CorpusReader] {
        var folders: [String] = []
        for pattern in patterns {
            if pattern.contains("*") || pattern.contains("?") {
                let matches = glob(pattern)
                guard !matches.isEmpty else { throw DataError("data.shards: '\(pattern)' matches nothing") }
                folders += matches
            } else {
                folders.append(pattern)
            }
        }
        return try folders.map { try CorpusReader(folder: $0) }
    }

    /// 1 / (train std) of each channel of window `id`'s dataset (1 for a constant channel), into `out` [channels].
    public func inverseTrainStd(_ id: Int, into out: UnsafeMutablePointer<Float>) {
        let corpus = corpusIndex(id)
        let std = corpora[corpus].trainStd
        if let channel = indices[corpus][id - starts[corpus]].channel {
            out[0] = std[channel] > 0 ? Float(1 / std[channel]) : 1
        } else {
            for c in 0..<channels { out[c] = std[c] > 0 ? Float(1 / std[c]) : 1 }
        }
    }

    private func corpusIndex(_ id: Int) -> Int {
        var corpus = 0
        while starts[corpus + 1] <= id { corpus += 1 }
        return corpus
    }

    /// Copies window `id` into past [context, channels] and future [horizon, channels].
    public func load(_ id: Int, past: UnsafeMutablePointer<Float>, future: UnsafeMutablePointer<Float>) throws {
        let corpus = corpusIndex(id)
        let c = channels
        try window.withUnsafeMutableBufferPointer { try indices[corpus].read(id - starts[corpus], from: corpora[corpus], into: $0) }
        window.withUnsafeBufferPointer { w in
            past.update(from: w.baseAddress!, count: context * c)
            future.update(from: w.baseAddress! + context * c, count: horizon * c)
        }
    }

    /// Loads the windows `ids` into `batch` (slot i gets the i-th id): past, future and 1 / train std of each
    /// window's dataset and channel.
    public func load<Windows: Sequence<Int>>(_ ids: Windows, into batch: WindowBatch) throws {
        precondition(batch.context == context && batch.horizon == horizon && batch.channels == channels, "batch shaped for another source")
        var slot = 0
        for id in ids {
            precondition(slot < batch.capacity, "more windows than the batch holds (\(batch.capacity))")
            try load(id, past: batch.past + slot * batch.pastCount, future: batch.future + slot * batch.futureCount)
            inverseTrainStd(id, into: batch.weights + slot * channels)
            slot += 1
        }
        batch.count = slot
    }

    /// Windows have no randomness of their own: the step is not needed.
    public func load<Samples: Sequence<Int>>(_ ids: Samples, step: Int, into batch: WindowBatch) throws { try load(ids, into: batch) }

    /// Loads every window in order, `batch.capacity` at a time, calling `body` after each load.
    public func forEachBatch(into batch: WindowBatch, _ body: (WindowBatch) throws -> Void) throws {
        var start = 0
        while start < count {
            let n = min(batch.capacity, count - start)
            try load(start..<(start + n), into: batch)
            try body(batch)
            start += n
        }
    }

    private static func glob(_ pattern: String) -> [String] {
        var result = glob_t()
        defer { globfree(&result) }
        guard Glibc.glob(pattern, 0, nil, &result) == 0 else { return [] }
        return (0..<Int(result.gl_pathc)).compactMap { result.gl_pathv[$0].map { String(cString: $0) } }.sorted()
    }
}


/// One batch of windows: past [capacity, context, channels], future [capacity, horizon, channels] and the
/// per-window weights [capacity, channels] (1 / train std of the window's dataset and channel). Allocated once
/// for the largest batch and reused for every batch.
public final class WindowBatch {
    public let capacity: Int
    public let context: Int
    public let horizon: Int
    public let channels: Int
    public let past: UnsafeMutablePointer<Float>
    public let future: UnsafeMutablePointer<Float>
    public let weights: UnsafeMutablePointer<Float>
    /// Windows loaded by the last `load`.
    public var count = 0

    public var pastCount: Int { context * channels }
    public var futureCount: Int { horizon * channels }

    public init(capacity: Int, context: Int, horizon: Int, channels: Int) {
        self.capacity = capacity
        self.context = context
        self.horizon = horizon
        self.channels = channels
        let n = max(capacity, 1)
        past = .allocate(capacity: n * context * channels)
        past.initialize(repeating: 0, count: n * context * channels)
        future = .allocate(capacity: n * horizon * channels)
        future.initialize(repeating: 0, count: n * horizon * channels)
        weights = .allocate(capacity: n * channels)
        weights.initialize(repeating: 1, count: n * channels)
    }

    deinit {
        past.deallocate()
        future.deallocate()
        weights.deallocate()
    }
}
