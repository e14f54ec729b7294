import ArgumentParser
import Foundation
import Models
import NN
import Training

struct FineTune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a checkpoint (ours, granite-tsfm's or a Keras TSMixer folder) with its backbone frozen, on one process.")

    @Option(help: "Run configuration (YAML) with a finetune section.") var config: String
    @Option(help: "Checkpoint folder to start from (default: finetune.checkpoint).") var checkpoint: String?

    func run() throws {
        if let rank = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_RANK"], rank != "0" { return }
        let settings = try RunConfig.load(config)
        guard let finetune = settings.finetune else {
            throw ConfigError(key: "finetune", message: "missing from \(config)")
        }
        guard let start = checkpoint ?? finetune.checkpoint else {
            throw ConfigError(key: "finetune.checkpoint", message: "no checkpoint: give finetune.checkpoint or --checkpoint")
        }
        let model = try ModelFolder.load(start)
        print("finetune: starting from \(start) (\(model.config.kind.rawValue))")
        let tuner = FineTuner(settings: finetune, seed: settings.training.seed, weightDecay: settings.training.weightDecay) { print($0) }
        _ = try tuner.run(from: model)
    }
}
