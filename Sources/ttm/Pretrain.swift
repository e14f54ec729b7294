import ArgumentParser
import BLAS
import Foundation
import Models
import MPI
import NN
import Training

struct Pretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Data-parallel pretraining of a TTM, TSMixer, MixerFlow or Glow (model.kind); start it with mpirun -np N (or alone for one rank).",
        discussion: """
            Every rank trains on its slice of each global batch; gradients are averaged with MPI; rank 0 logs, \
            validates and writes checkpoints. With a finetune section, rank 0 fine-tunes the final model (TTM: \
            backbone frozen; TSMixer: mixing layers frozen) once pretraining ends, while the other ranks exit. \
            See configs/ for examples.
            """)

    @Option(help: "Run configuration (YAML).") var config: String
    @Flag(help: "Continue from the newest complete checkpoint in checkpointing.directory.") var resume = false
    @Flag(help: "Single-process debug run: a tiny model on a small slice, a finite-difference gradient check on the first batch, NaN checks, per-phase timings.")
    var debug = false

    func run() throws {
        let world = try Communicator.world()
        do {
            let settings = try RunConfig.load(config)
            // Engine threads bring their own parallelism: each calls a single-threaded OpenBLAS.
            if settings.training.threads > 1 { OpenBLAS.threadCount = 1 }
            let trainer = try Pretrainer(config: settings, world: world, options: .init(resume: resume, debug: debug))
            _ = try trainer.run()
            // Fine-tuning needs no MPI: leave it so that the other ranks can exit now.
            MPIEnvironment.finalize()
            guard world.isRoot, !debug, let finetune = settings.finetune else { return }
            let tuner = FineTuner(settings: finetune, seed: settings.training.seed, weightDecay: settings.training.weightDecay) { print($0) }
            _ = try tuner.run(from: trainer.model)
        } catch {
            failJob(error, world: world)
        }
    }
}

/// Reports `error` (rank 0 plainly, other ranks with their rank) and ends the whole job with a non-zero exit:
/// other ranks may be waiting in a collective, so with several ranks the job is aborted through MPI.
func failJob(_ error: Error, world: Communicator) -> Never {
    printToStandardError(world.isRoot ? "Error: \(error)" : "Error (rank \(world.rank)): \(error)")
    if world.size > 1 && MPIEnvironment.isInitialized { world.abort(exitCode: 1) }
    exit(1)
}
