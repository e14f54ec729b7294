/// All (context + horizon) windows of one split, numbered 0..<count, in a fixed order: series by series (and
/// channel by channel in the univariate view), start row ascending.
public struct WindowIndex: Sendable {
    public enum View: String, CaseIterable, Sendable {
        /// Every channel of every series is an independent univariate series (pretraining).
        case univariate
        /// All channels together (fine-tuning and evaluation of one dataset).
        case multivariate
    }

    public struct Window: Equatable, Sendable {
        public let series: Int
        /// nil in the multivariate view.
        public let channel: Int?
        /// First row of the window within its series.
        public let start: Int
    }

    public let view: View
    public let split: Split
    public let length: Int
    public let count: Int
    /// Series with fewer rows in this split than one window (counted, and reported by the commands).
    public let skippedSeries: Int
    /// (series, channel, first row of the split, windows) with cumulative window counts, for lookup.
    private let streams: [(series: Int, channel: Int?, splitStart: Int)]
    private let cumulative: [Int]

    public init(_ corpus: CorpusReader, split: Split, view: View, context: Int, horizon: Int) {
        self.view = view
        self.split = split
        length = context + horizon
        var streams: [(Int, Int?, Int)] = [], cumulative: [Int] = [0], skipped = 0
        for (index, info) in corpus.series.enumerated() {
            let rows = split.rows(ends: info.ends, context: corpus.context)
            let windows = max(0, rows.count - length + 1)
            if windows == 0 { skipped += 1; continue }
            let channels: [Int?] = view == .univariate ? (0..<corpus.channels).map { $0 } : [nil]
            for channel in channels {
                streams.append((index, channel, rows.lowerBound))
                cumulative.append(cumulative.last! + windows)
            }
        }
        self.streams = streams
        self.cumulative = cumulative
        count = cumulative.last!
        skippedSeries = skipped
    }

    public subscript(index: Int) -> Window {
        precondition(index >= 0 && index < count, "window \(index) outside 0..<\(count)")
        // Last stream whose cumulative start is <= index.
        var low = 0, high = streams.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if cumulative[mid] <= index { low = mid } else { high = mid - 1 }
        }
        let stream = streams[low]
        return Window(series: stream.series, channel: stream.channel, start: stream.splitStart + index - cumulative[low])
    }

    /// Channels per window: 1 in the univariate view.
    public func channels(_ corpus: CorpusReader) -> Int { view == .univariate ? 1 : corpus.channels }

    /// Reads window `index` into `buffer` ([length, channels of the view]) with one hyperslab read.
    public func read(_ index: Int, from corpus: CorpusReader, into buffer: UnsafeMutableBufferPointer<Float>) throws {
        let window = self[index]
        if let channel = window.channel {
            try corpus.read(series: window.series, channel: channel, row: window.start, count: length, into: buffer)
        } else {
            try corpus.read(series: window.series, row: window.start, count: length, into: buffer)
        }
    }
}
