import ArgumentParser
import Checkpoint
import Corpus
import Foundation
import Models
import Training

struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Draw images from a MixerFlow or Glow checkpoint into a PNG grid.",
        discussion: "z ~ N(0, T²) with T the temperature, mapped back through the inverse flow; the same seed draws the same images.")

    @Option(help: "A mixerflow or glow model folder.") var checkpoint: String
    @Option(help: "How many images.") var count: Int = 64
    @Option(help: "Standard deviation of the latent draws (1 samples the model itself; below 1 gives smoother images).")
    var temperature: Float = 0.7
    @Option(help: "Images per grid row (default: the square root of --count, rounded up).") var columns: Int?
    @Option(help: "Seed of the latent draws.") var seed: UInt64 = 1
    @Option(help: "The PNG to write.") var output: String
    @Flag(help: "Replace --output if it exists.") var overwrite = false

    func validate() throws {
        guard (1...4096).contains(count) else { throw ValidationError("--count must be between 1 and 4096 (got \(count))") }
        guard temperature.isFinite, temperature > 0, temperature <= 10 else { throw ValidationError("--temperature must be in (0, 10] (got \(temperature))") }
        if let columns, columns < 1 { throw ValidationError("--columns must be at least 1") }
        guard output.lowercased().hasSuffix(".png") else { throw ValidationError("--output writes a PNG: give a .png path") }
    }

    func run() throws {
        try AtomicFile.checkOutput(output, overwrite: overwrite, inputs: [checkpoint], option: "--output")
        let model = try ModelFolder.load(checkpoint)
        guard let shape = model.config.imageShape else {
            throw ValidationError("\(checkpoint) holds a \(model.config.kind.rawValue) model; sampling needs a mixerflow or glow checkpoint")
        }
        guard shape.channels == 1 || shape.channels == 3 else {
            throw ValidationError("\(checkpoint): images of \(shape.channels) channels have no PNG colour type (1 or 3 needed)")
        }
        let images = try FlowSampler.sample(model, count: count, temperature: temperature, seed: seed)
        let perRow = columns ?? Int(Double(count).squareRoot().rounded(.up))
        let grid = PNG.grid(images, count: count, height: shape.height, width: shape.width, channels: shape.channels, columns: perRow)
        try AtomicFile.write(try PNG.encode(grid.pixels, width: grid.width, height: grid.height, channels: shape.channels), to: output)
        print("sample: \(count) images of \(shape.height)x\(shape.width)x\(shape.channels) at temperature \(temperature) -> \(output) (\(grid.width)x\(grid.height))")
    }
}
