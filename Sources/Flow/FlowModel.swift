import NN

/// A flow as the training engine sees it (`TrainableModel`): a sample goes in as the dequantised image x [D]
/// followed by the dequantisation's log-determinant (the data loader computes both, see `Dequantization`), and
/// comes out as z [D] followed by the total log-determinant (dequantisation plus flow). The loss needs no
/// target: it is the image's negative log-likelihood in bits per dimension.
///
/// The ActNorms start from the first training batch the run sees: a forward in training mode while their
/// `initialized` flags are 0 (a fresh model; a resumed one has them saved as 1) does that, over every rank's
/// share when the engine passes its rank statistics.
public final class FlowModel: TrainableModel {
    public let network: any FlowNetwork
    public let kind: String
    private let x = FloatBuffer(), z = FloatBuffer(), logdet = FloatBuffer()
    private let output = FloatBuffer(), dz = FloatBuffer(), dLogdet = FloatBuffer(), dx = FloatBuffer()
    private var lastBatch = 0
    private let startFlags: [ParameterView]

    public init(kind: String, network: any FlowNetwork) {
        self.kind = kind
        self.network = network
        startFlags = network.layout.views.filter { $0.name.hasSuffix(".initialized") }
    }

    public var layout: ParameterLayout { network.layout }
    public var dimensions: Int { network.dimensions }
    public var inputCount: Int { dimensions + 1 }
    public var outputCount: Int { dimensions + 1 }
    public var targetCount: Int { 0 }
    public var weightCount: Int { 0 }
    /// One term per image: the reported loss is the mean bits per dimension.
    public var lossTerms: Int { 1 }
    /// ActNorm's start is a batch statistic: a batch split among threads would start each replica differently.
    public var usesBatchStatistics: Bool { true }

    public func initialize(_ p: ParameterStore, seed: UInt64) { network.initialize(p, seed: seed) }

    /// Whether the ActNorms still wait for their data-dependent start.
    public func needsStart(_ p: ParameterStore) -> Bool { startFlags.contains { p.value($0)[0] != 1 } }

    public func forward(_ input: UnsafePointer<Float>, batch: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        let d = dimensions
        let images = x.reserve(max(batch, 1) * d), latents = z.reserve(max(batch, 1) * d), total = logdet.reserve(max(batch, 1))
        for n in 0..<batch {
            (images + n * d).update(from: input + n * (d + 1), count: d)
            total[n] = input[n * (d + 1) + d]
        }
        let start: ActNormStart? = mode.isTraining && needsStart(p) ? ActNormStart(statistics: mode.statisticsReducer) : nil
        network.forward(images, latents, batch: batch, logdet: total, p, initializing: start)
        let out = output.reserve(max(batch, 1) * (d + 1))
        for n in 0..<batch {
            (out + n * (d + 1)).update(from: latents + n * d, count: d)
            out[n * (d + 1) + d] = total[n]
        }
        lastBatch = batch
        return UnsafePointer(out)
    }

    /// Σ bits per dimension of the images; the gradient goes to z and to the log-determinant.
    public func lossSum(output: UnsafePointer<Float>, target: UnsafePointer<Float>, weights: UnsafePointer<Float>?, samples: Int,
                        scale: Float, gradient: UnsafeMutablePointer<Float>?) -> Double {
        let d = dimensions
        var sum = 0.0
        for n in 0..<samples {
            let row = output + n * (d + 1)
            sum += Dequantization.bitsPerDimension(z: row, logdet: row + d, batch: 1, dimensions: d, scale: scale,
                                                   dz: gradient.map { $0 + n * (d + 1) }, dLogdet: gradient.map { $0 + n * (d + 1) + d })
        }
        return sum
    }

    public func backward(_ dOutput: UnsafePointer<Float>, _ p: ParameterStore) {
        let d = dimensions, batch = lastBatch
        let gz = dz.reserve(max(batch, 1) * d), gl = dLogdet.reserve(max(batch, 1))
        for n in 0..<batch {
            (gz + n * d).update(from: dOutput + n * (d + 1), count: d)
            gl[n] = dOutput[n * (d + 1) + d]
        }
        network.backward(dz: gz, dLogdet: gl, dx: dx.reserve(max(batch, 1) * d), batch: batch, p)
    }

    /// A flow is trained whole; there is no fine-tuning stage that freezes part of it.
    public func freezeForFineTuning(_ p: ParameterStore) {}

    public func firstNonFiniteStage() -> String? {
        let out = output.pointer, count = lastBatch * outputCount
        return (0..<count).contains { !out[$0].isFinite } ? "the flow's latent or log-determinant" : nil
    }
}
