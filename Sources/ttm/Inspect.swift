import ArgumentParser
import Foundation
import Models
import NN

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a model folder of any kind (TTM, TSMixer, MixerFlow, Glow): architecture and parameter counts.")

    @Argument(help: "A model folder (config.json + model.safetensors).")
    var checkpoint: String

    func run() throws {
        let model = try ModelFolder.load(checkpoint)
        print("checkpoint: \(checkpoint)")
        if let forecaster = model.network as? any Forecaster {
            for line in forecaster.summary(model.store) { print(line) }
        } else {
            print("model: \(model.config.kind.rawValue), \(model.store.count.grouped) parameters")
            for view in model.store.layout.views where view.trainable { print("  \(view.name) \(view.shape)") }
        }
    }
}
