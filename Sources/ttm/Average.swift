import ArgumentParser
import Checkpoint
import Foundation
import Models
import NN

/// Checkpoint averaging: the mean of the weights of a run's last checkpoints, a common way to land in a flatter
/// part of the loss surface at no training cost (launch/pretrain-public.sh averages the four it keeps; measured
/// there within run-to-run noise of the last checkpoint, better in two runs and worse in two).
struct Average: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Average the weights of model folders of one architecture (a run's last checkpoints) into a new model folder.")

    @Argument(help: "Two or more model folders (config.json + model.safetensors) of the same architecture.")
    var checkpoints: [String]
    @Option(help: "The model folder to write (config.json of the first input, the averaged model.safetensors).")
    var output: String
    @Flag(help: "Replace --output if it exists.") var overwrite = false

    func validate() throws {
        guard checkpoints.count >= 2 else { throw ValidationError("give at least two model folders to average") }
    }

    func run() throws {
        try AtomicFile.checkOutput(output, overwrite: overwrite, inputs: checkpoints, option: "--output")
        let first = try ModelFolder.load(checkpoints[0])
        // Sums in Double: four Float checkpoints averaged in Float would round at each addition.
        var sum = (0..<first.store.count).map { Double(first.store.values[$0]) }
        for folder in checkpoints.dropFirst() {
            let model = try ModelFolder.load(folder)
            guard model.config == first.config else {
                throw CheckpointError(path: folder, message: "its architecture (config.json) differs from \(checkpoints[0])'s; only checkpoints of one architecture can be averaged")
            }
            for i in sum.indices { sum[i] += Double(model.store.values[i]) }
        }
        let scale = 1 / Double(checkpoints.count)
        for i in sum.indices { first.store.values[i] = Float(sum[i] * scale) }
        try ModelFolder.save(first, to: output)
        print("average: \(checkpoints.count) checkpoints, \(first.store.count.grouped) parameters -> \(output)")
    }
}
