import ArgumentParser
import Foundation
import NN
import TTM

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise a TTM checkpoint: architecture and parameter counts.")

    @Argument(help: "A model folder (config.json + model.safetensors).")
    var checkpoint: String

    func run() throws {
        let (model, store) = try TTMCheckpoint.load(checkpoint)
        let c = model.config
        func count(_ prefix: String) -> Int { store.layout.views.filter { $0.name.hasPrefix(prefix) }.reduce(0) { $0 + $1.count } }
        let backbone = count("backbone."), decoder = count("decoder."), head = count("head.")
        let total = store.count
        let trainable = store.trainableRanges.reduce(0) { $0 + $1.count }
        print("checkpoint: \(checkpoint)")
        print("context \(c.contextLength), horizon \(c.predictionLength), patch \(c.patchLength) (\(c.numPatches) patches), channels \(c.numInputChannels)")
        print("backbone: d_model \(c.dModel), expansion \(c.expansionFactor), \(max(c.adaptivePatchingLevels, 1)) level(s) x \(c.numLayers) layers, split factors \(c.adaptiveFactors), mode \(c.mode.rawValue), dropout \(c.dropout)")
        print("decoder: \(c.decoderNumLayers) layers of width \(c.decoderDModel), mode \(c.decoderMode.rawValue), head dropout \(c.headDropout)")
        print("scaling \(c.scaling.rawValue), gated attention \(c.gatedAttention), loss \(c.loss.rawValue)")
        print("parameters: backbone \(backbone.formatted()), decoder \(decoder.formatted()), head \(head.formatted()), total \(total.formatted()), trainable \(trainable.formatted())")
    }
}

extension Int {
    /// 1907528 -> "1,907,528"
    func formatted() -> String {
        let digits = String(self)
        var out = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return String(out.reversed())
    }
}
