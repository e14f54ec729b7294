import ArgumentParser
import BLAS
import Checkpoint
import Kernels
import NN

#if canImport(Glibc)
import Glibc
#endif

@main
struct TTM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ttm",
        abstract: "Pretrain, fine-tune and evaluate TinyTimeMixers on CPU clusters with MPI.",
        subcommands: [PrepareCommand.self, Pretrain.self, FineTune.self, Evaluate.self, Forecast.self, Sample.self, Inspect.self, Average.self, Bench.self])

    static func main() {
        // The numeric modules use AVX2 and FMA (see Package.swift): say so instead of dying of SIGILL.
        #if arch(x86_64)
        let flags = OpenBLAS.cpuFlags()
        if VectorMath.needsAVX2, !flags.isEmpty, !(flags.contains("avx2") && flags.contains("fma")) {
            printToStandardError("ttm: this build needs a CPU with AVX2 and FMA (x86-64-v3); this one lacks them. Rebuild with TTM_PORTABLE=1 swift build -c release")
            Glibc.exit(1)
        }
        #endif
        // OpenBLAS fixes its kernels when it loads; switch to the right ones before anything else runs.
        OpenBLAS.reexecWithBestKernelsIfNeeded()
        if let warning = OpenBLAS.slowKernelWarning(), isFirstRank {
            printToStandardError("ttm: note: \(warning)")
        }
        OpenBLAS.shareCoresAmongLocalRanks()
        PartialOutputs.installSignalCleanup()
        Self.main(nil)
    }

    /// True outside mpirun and on rank 0 under it; decided before MPI starts, from mpirun's environment.
    static var isFirstRank: Bool {
        guard let rank = getenv("OMPI_COMM_WORLD_RANK") else { return true }
        return String(cString: rank) == "0"
    }
}

func printToStandardError(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(2, $0, strlen($0)) }
}
