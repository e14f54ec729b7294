/// A seeded permutation of 0..<count for each epoch, computed on demand (no table): a four-round Feistel
/// network over the smallest power-of-four domain covering `count`, walked until it lands inside. It is a
/// bijection, so every window appears exactly once per epoch, and position i maps to the same window on every
/// rank and after a restart.
public struct EpochPermutation: Sendable {
    public let count: Int
    private let halfBits: Int
    private let keys: SIMD4<UInt64>

    public init(count: Int, seed: UInt64, epoch: Int) {
        precondition(count > 0)
        self.count = count
        var bits = 1
        while (1 << (2 * bits)) < count { bits += 1 }
        halfBits = bits
        var keys = SIMD4<UInt64>()
        for round in 0..<4 {
            var z = seed &+ UInt64(truncatingIfNeeded: epoch) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(round) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            keys[round] = z ^ (z >> 31)
        }
        self.keys = keys
    }

    public subscript(position: Int) -> Int {
        precondition(position >= 0 && position < count)
        var x = UInt64(position)
        repeat { x = encrypt(x) } while x >= UInt64(count)
        return Int(x)
    }

    private func encrypt(_ value: UInt64) -> UInt64 {
        let mask = (UInt64(1) << UInt64(halfBits)) - 1
        var left = value >> UInt64(halfBits), right = value & mask
        for round in 0..<4 {
            let key = keys[round]
            var f = (right &+ key) &* 0xD6E8_FEB8_6659_FD93
            f ^= f >> 32
            (left, right) = (right, (left ^ f) & mask)
        }
        return (left << UInt64(halfBits)) | right
    }
}

/// Splits every global batch of an epoch among ranks. Global batch k holds permutation positions
/// [k·B, min((k+1)·B, count)); rank r of R takes the positions [⌊r·b/R⌋, ⌊(r+1)·b/R⌋) of a batch of size b.
/// The union over ranks is the single-rank epoch for any R.
public struct DistributedSampler: Sendable {
    public let count: Int
    public let globalBatch: Int
    public let rank: Int
    public let ranks: Int
    public let seed: UInt64

    public init(count: Int, globalBatch: Int, rank: Int, ranks: Int, seed: UInt64) {
        precondition(count > 0 && globalBatch > 0 && ranks > 0 && (0..<ranks).contains(rank))
        self.count = count
        self.globalBatch = globalBatch
        self.rank = rank
        self.ranks = ranks
        self.seed = seed
    }

    public var batchesPerEpoch: Int { (count + globalBatch - 1) / globalBatch }

    /// Size of global batch `batch` (the last one may be short).
    public func globalBatchSize(_ batch: Int) -> Int { min(globalBatch, count - batch * globalBatch) }

    /// This rank's share of global batch `batch`: positions within the batch, and so global sample indices.
    public func localRange(batch: Int) -> Range<Int> { share(of: globalBatchSize(batch), part: rank, parts: ranks) }

    /// The epoch's order of windows (build it once per epoch; it is a pure function of seed and epoch).
    public func permutation(epoch: Int) -> EpochPermutation { EpochPermutation(count: count, seed: seed, epoch: epoch) }

    /// The window at `position` of global batch `batch` in the epoch whose order is `permutation`.
    public func window(_ permutation: EpochPermutation, batch: Int, position: Int) -> Int {
        permutation[batch * globalBatch + position]
    }

    /// Window ids of this rank's share of `batch` in `epoch`, with each one's position in the global batch
    /// (the global sample index that keys its dropout masks).
    public func windows(epoch: Int, batch: Int) -> [(position: Int, window: Int)] {
        let order = permutation(epoch: epoch)
        return localRange(batch: batch).map { ($0, window(order, batch: batch, position: $0)) }
    }
}

/// Part `part` of `parts` of 0..<count: [⌊part·count/parts⌋, ⌊(part+1)·count/parts⌋). The parts are contiguous, in
/// order, differ in size by at most one, and together are 0..<count (how ranks and threads split a batch).
public func share(of count: Int, part: Int, parts: Int) -> Range<Int> {
    (part * count / parts)..<((part + 1) * count / parts)
}
