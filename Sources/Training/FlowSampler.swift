import Flow
import Foundation
import Models
import NN

/// Images drawn from a trained flow: z ~ N(0, T² I) (T the temperature, below 1 for the smoother samples flows are
/// usually shown with), x = f⁻¹(z), then the pixel level x falls in. Deterministic for a seed.
public enum FlowSampler {
    /// `count` images [count, height, width, channels] as bytes.
    public static func sample(_ model: LoadedModel, count: Int, temperature: Float, seed: UInt64) throws -> [UInt8] {
        guard let flow = model.network as? FlowModel else {
            throw TrainingError("a \(model.config.kind.rawValue) model has nothing to sample; give a mixerflow or glow checkpoint")
        }
        let d = flow.dimensions
        let stream = RandomStream(seed: seed, site: 0x5341_4D50)
        var z = [Float](repeating: 0, count: count * d), x = [Float](repeating: 0, count: count * d)
        var uniform = [Float](repeating: 0, count: 2 * d)
        for n in 0..<count {
            // Box–Muller on pairs of uniforms in (0, 1].
            stream.fillUniform(sample: n, count: 2 * d, into: &uniform)
            for i in 0..<d {
                let u1 = Double(1 - uniform[2 * i]), u2 = Double(uniform[2 * i + 1])
                z[n * d + i] = temperature * Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
            }
        }
        flow.network.inverse(z, &x, batch: count, model.store)
        var pixels = [UInt8](repeating: 0, count: count * d)
        Dequantization.pixels(x, count: count * d, into: &pixels)
        return pixels
    }
}
