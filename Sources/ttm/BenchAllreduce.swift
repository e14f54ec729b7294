import ArgumentParser
import Foundation
import Training
import MPI

struct BenchAllreduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "In-place Float allreduce time and bandwidth across the ranks mpirun started.",
        discussion: "Run under mpirun, e.g. `mpirun -np 2 ttm bench allreduce`; alone it measures a single rank.")

    @Option(name: .customLong("megabytes"), parsing: .upToNextOption,
            help: "Buffer sizes in MB (a TTM gradient buffer is about 8 MB).")
    var sizes: [Double] = [1, 8, 64]

    @Option(help: "Timed calls per size (after one warm-up call).")
    var repeats: Int = 20

    func validate() throws {
        guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1 (got \(repeats))") }
        guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else { throw ValidationError("--megabytes must be positive") }
    }

    func run() throws {
        let world = try Communicator.world()
        if world.isRoot {
            print("ranks: \(world.size)  (\(MPIEnvironment.libraryVersion.split(separator: ",").first ?? ""))")
            print("size (MB)   median ms   best ms   algorithm GB/s")
        }
        let clock = ContinuousClock()
        for megabytes in sizes {
            let count = Int(megabytes * 1_048_576 / 4)
            var buffer = [Float](repeating: 1, count: count)
            var times: [Double] = []
            for call in 0...repeats {
                try world.barrier()
                let elapsed = try clock.measure { try world.allreduce(&buffer, op: .sum) }
                if call > 0 { times.append(elapsed.inSeconds) }
            }
            // The slowest rank decides when a collective is done.
            var slowest = times
            try world.allreduce(&slowest, op: .max)
            slowest.sort()
            let median = slowest[slowest.count / 2]
            if world.isRoot {
                let rate = Double(count * 4) / median / 1e9
                print(String(format: "%8.1f   %9.3f   %7.3f   %14.2f", megabytes, median * 1e3, slowest[0] * 1e3, rate))
            }
        }
    }
}
