/// Per-corpus balancing for pretraining on corpora of very different sizes (TTM's recipe: one large corpus must
/// not drown the others). Each epoch takes at most `cap` windows of every corpus: a corpus with more contributes
/// a different subset each epoch (the first `cap` positions of its own seeded permutation for that epoch), one
/// with fewer contributes all of them. Sample v of an epoch maps to a window of the underlying source; the map is
/// a pure function of (seed, epoch, v), so every rank and a resumed run see the same windows.
public final class BalancedWindows: SampleSource {
    public let source: WindowSource
    public let cap: Int
    /// Samples per epoch: Σ min(windows of the corpus, cap).
    public let count: Int
    /// Where each corpus' share starts in 0..<count.
    let shares: [Int]
    let seed: UInt64
    let batchesPerEpoch: Int
    private var cached: (epoch: Int, permutations: [EpochPermutation?])?

    /// `globalBatch` tells which epoch a training step is in (steps per epoch = ⌈count / globalBatch⌉).
    public init(_ source: WindowSource, cap: Int, globalBatch: Int, seed: UInt64) {
        precondition(cap >= 1 && globalBatch >= 1)
        self.source = source
        self.cap = cap
        self.seed = seed
        var shares = [0]
        for c in 0..<(source.starts.count - 1) { shares.append(shares.last! + min(source.starts[c + 1] - source.starts[c], cap)) }
        self.shares = shares
        count = shares.last!
        batchesPerEpoch = max(1, (count + globalBatch - 1) / globalBatch)
    }

    /// Windows per corpus in one epoch, in corpus order.
    public var perCorpus: [Int] { (0..<(shares.count - 1)).map { shares[$0 + 1] - shares[$0] } }

    /// The underlying window of sample `sample` in epoch `epoch`.
    public func window(_ sample: Int, epoch: Int) -> Int {
        precondition(sample >= 0 && sample < count)
        if cached?.epoch != epoch {
            cached = (epoch, (0..<(shares.count - 1)).map { c in
                let windows = source.starts[c + 1] - source.starts[c]
                return windows > cap ? EpochPermutation(count: windows, seed: seed ^ (UInt64(c) &* 0x9E37_79B9_7F4A_7C15), epoch: epoch) : nil
            })
        }
        var corpus = 0
        while shares[corpus + 1] <= sample { corpus += 1 }
        let offset = sample - shares[corpus]
        return source.starts[corpus] + (cached!.permutations[corpus].map { $0[offset] } ?? offset)
    }

    public func load<Samples: Sequence<Int>>(_ ids: Samples, step: Int, into batch: WindowBatch) throws {
        let epoch = step / batchesPerEpoch
        try source.load(ids.lazy.map { self.window($0, epoch: epoch) }, into: batch)
    }
}
