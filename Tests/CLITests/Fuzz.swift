import Foundation
import NN
import XCTest

/// A deterministic generator, so that a failing fuzz case is the same case on every run.
struct FuzzRandom {
    private var base: SplitMix64
    init(seed: UInt64) { base = SplitMix64(seed: seed) }
    mutating func next() -> UInt64 { base.next() }
    mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func pick<T>(_ choices: [T]) -> T { choices[int(0..<choices.count)] }
}

/// One generated bad input: the command to run, texts of which at least one must be in the message (the file,
/// key or line at fault), and outputs that must not appear.
struct FuzzCase {
    var name: String
    var arguments: [String]
    var mentioning: [String]
    var outputs: [String] = []
}

extension CLITestCase {
    /// Runs every case through the binary: exit status 1 (a signal or a Swift trap is something else), a
    /// message naming what is at fault, nothing published, no temporary folder left. Returns the case count.
    @discardableResult
    func assertAllRefused(_ cases: [FuzzCase], file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        for c in cases {
            let result = try TTMProcess.run(c.arguments)
            let message = result.standardError
            if ProcessInfo.processInfo.environment["TTM_FUZZ_SHOW"] != nil { print("fuzz: \(c.name): \(message.prefix(300))") }
            XCTAssertEqual(result.status, 1, "\(c.name): exit status \(result.status) (\(c.arguments.joined(separator: " "))): \(message.prefix(600))",
                           file: file, line: line)
            XCTAssertTrue(c.mentioning.contains { message.contains($0) },
                          "\(c.name): expected one of \(c.mentioning) in: \(message.prefix(600))", file: file, line: line)
            XCTAssertFalse(message.contains("Fatal error") || message.contains("Stack dump"), "\(c.name): a trap: \(message.prefix(600))",
                           file: file, line: line)
            for output in c.outputs where FileManager.default.fileExists(atPath: output) {
                XCTFail("\(c.name): \(output) was published", file: file, line: line)
                try? FileManager.default.removeItem(atPath: output)  // so that the next case is judged on its own
            }
        }
        let leftovers = (try FileManager.default.contentsOfDirectory(atPath: folder.path)).filter { $0.contains(".partial-") }
        XCTAssertEqual(leftovers, [], "temporary folders left behind", file: file, line: line)
        print("fuzz: \(name): \(cases.count) cases")
        return cases.count
    }
}
