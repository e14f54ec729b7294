@testable import Corpus
import XCTest

final class SamplerTests: XCTestCase {
    func testPermutationIsABijectionAndDiffersByEpoch() {
        for count in [1, 2, 3, 17, 1000, 4097] {
            let a = EpochPermutation(count: count, seed: 9, epoch: 0)
            let values = (0..<count).map { a[$0] }
            XCTAssertEqual(Set(values).count, count)
            XCTAssertTrue(values.allSatisfy { (0..<count).contains($0) })
            if count >= 17 {
                let b = EpochPermutation(count: count, seed: 9, epoch: 1)
                XCTAssertNotEqual(values, (0..<count).map { b[$0] }, "epoch 1 reorders")
                XCTAssertNotEqual(values, Array(0..<count), "not the identity")
            }
        }
    }

    /// For 1, 2, 3 and 4 ranks over three epochs: concatenating the ranks' shares of each global batch gives
    /// exactly the single-rank batch (same windows, same order, same global positions); nothing is lost or
    /// repeated; the same seed reproduces it.
    func testRanksPartitionEveryGlobalBatchExactly() {
        let count = 1003, batch = 64
        for epoch in 0..<3 {
            let single = DistributedSampler(count: count, globalBatch: batch, rank: 0, ranks: 1, seed: 5)
            var seen = Set<Int>()
            for b in 0..<single.batchesPerEpoch {
                let reference = single.windows(epoch: epoch, batch: b)
                reference.forEach { seen.insert($0.window) }
                for ranks in 1...4 {
                    let union = (0..<ranks).flatMap {
                        DistributedSampler(count: count, globalBatch: batch, rank: $0, ranks: ranks, seed: 5).windows(epoch: epoch, batch: b)
                    }
                    XCTAssertEqual(union.map(\.window), reference.map(\.window), "epoch \(epoch) batch \(b) ranks \(ranks)")
                    XCTAssertEqual(union.map(\.position), Array(0..<single.globalBatchSize(b)))
                }
            }
            XCTAssertEqual(seen.count, count, "every window once per epoch")
            XCTAssertEqual(single.windows(epoch: epoch, batch: 3).map(\.window),
                           DistributedSampler(count: count, globalBatch: batch, rank: 0, ranks: 1, seed: 5).windows(epoch: epoch, batch: 3).map(\.window))
        }
        XCTAssertEqual(DistributedSampler(count: count, globalBatch: batch, rank: 0, ranks: 1, seed: 5).globalBatchSize(15), 1003 - 15 * 64)
    }
}
