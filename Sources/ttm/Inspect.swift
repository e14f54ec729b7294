import ArgumentParser
import Foundation
import Models
import NN

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a model folder of any kind (TTM, TSMixer): architecture and parameter counts.")

    @Argument(help: "A model folder (config.json + model.safetensors).")
    var checkpoint: String

    func run() throws {
        let model = try ModelFolder.load(checkpoint)
        print("checkpoint: \(checkpoint)")
        for line in model.network.summary(model.store) { print(line) }
    }
}
