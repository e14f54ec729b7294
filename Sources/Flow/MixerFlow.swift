import NN

/// MixerFlow's shape (arXiv 2310.16777; paper defaults: 30 steps, patch 4, a shift every 4 steps).
public struct MixerFlowConfig: Sendable, Equatable {
    public var height: Int, width: Int, channels: Int
    public var patch = 4
    public var steps = 30
    /// Every `shiftEvery`-th step (the 4th, 8th, …) runs on the shifted partition; 0 never shifts.
    public var shiftEvery = 4
    /// Hidden widths of the couplings' networks: channel mixing (rows of patch values), patch mixing (columns).
    public var channelHidden = 128
    public var patchHidden = 64

    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    public var dimensions: Int { height * width * channels }
    public func isShifted(step: Int) -> Bool { shiftEvery > 0 && (step + 1) % shiftEvery == 0 }
}

/// One flow step on a mixer matrix [patches, patch values]: a channel-mixing flow on every row (weights shared
/// across patches), then a patch-mixing flow on every column (weights shared across columns), each an ActNorm and
/// an affine coupling. The columns are reached by transposing each sample's matrix.
final class MixingStep {
    let partition: MixerMatrix
    let channelNorm: ActNorm, channelCoupling: AffineCoupling
    let patchNorm: ActNorm, patchCoupling: AffineCoupling
    private let matrix = FloatBuffer(), columns = FloatBuffer()

    init(_ name: String, partition: MixerMatrix, config: MixerFlowConfig, parity: Bool, layout: inout ParameterLayout) {
        precondition(partition.patches >= 2 && partition.patchSize >= 2, "\(name): a mixer matrix needs at least 2 x 2 entries")
        self.partition = partition
        channelNorm = ActNorm(name + ".channel.norm", features: partition.patchSize, layout: &layout)
        channelCoupling = AffineCoupling(name + ".channel.coupling", features: partition.patchSize, hidden: config.channelHidden,
                                         transformsFirstPart: parity, layout: &layout)
        patchNorm = ActNorm(name + ".patch.norm", features: partition.patches, layout: &layout)
        patchCoupling = AffineCoupling(name + ".patch.coupling", features: partition.patches, hidden: config.patchHidden,
                                       transformsFirstPart: parity, layout: &layout)
    }

    func forward(_ image: UnsafeMutablePointer<Float>, batch: Int, logdet: UnsafeMutablePointer<Float>, _ p: ParameterStore,
                 initializing: ActNormStart?) {
        let n = partition.patches, k = partition.patchSize
        let m = matrix.reserve(batch * n * k), t = columns.reserve(batch * n * k)
        partition.gather(image, into: m, batch: batch)
        if let initializing { channelNorm.initialize(from: m, rows: batch * n, p, statistics: initializing.statistics) }
        channelNorm.forward(m, m, rows: batch * n, samples: batch, logdet: logdet, p)
        channelCoupling.forward(m, m, rows: batch * n, samples: batch, logdet: logdet, p)
        Permute.swapLastTwo(m, t, batch: batch, rows: n, cols: k)
        if let initializing { patchNorm.initialize(from: t, rows: batch * k, p, statistics: initializing.statistics) }
        patchNorm.forward(t, t, rows: batch * k, samples: batch, logdet: logdet, p)
        patchCoupling.forward(t, t, rows: batch * k, samples: batch, logdet: logdet, p)
        Permute.swapLastTwo(t, m, batch: batch, rows: k, cols: n)
        partition.scatter(m, into: image, batch: batch)
    }

    func inverse(_ image: UnsafeMutablePointer<Float>, batch: Int, _ p: ParameterStore) {
        let n = partition.patches, k = partition.patchSize
        let m = matrix.reserve(batch * n * k), t = columns.reserve(batch * n * k)
        partition.gather(image, into: m, batch: batch)
        Permute.swapLastTwo(m, t, batch: batch, rows: n, cols: k)
        patchCoupling.inverse(t, t, rows: batch * k, p)
        patchNorm.inverse(t, t, rows: batch * k, p)
        Permute.swapLastTwo(t, m, batch: batch, rows: k, cols: n)
        channelCoupling.inverse(m, m, rows: batch * n, p)
        channelNorm.inverse(m, m, rows: batch * n, p)
        partition.scatter(m, into: image, batch: batch)
    }

    /// The image gradient in place: the partition's entries are replaced by their input gradient, the frame's pass.
    func backward(_ gradient: UnsafeMutablePointer<Float>, dLogdet: UnsafePointer<Float>, batch: Int, _ p: ParameterStore) {
        let n = partition.patches, k = partition.patchSize
        let m = matrix.reserve(batch * n * k), t = columns.reserve(batch * n * k)
        partition.gather(gradient, into: m, batch: batch)
        Permute.swapLastTwo(m, t, batch: batch, rows: n, cols: k)
        patchCoupling.backward(dy: t, dLogdet: dLogdet, dx: t, rows: batch * k, samples: batch, p)
        patchNorm.backward(dy: t, dLogdet: dLogdet, dx: t, rows: batch * k, samples: batch, p)
        Permute.swapLastTwo(t, m, batch: batch, rows: k, cols: n)
        channelCoupling.backward(dy: m, dLogdet: dLogdet, dx: m, rows: batch * n, samples: batch, p)
        channelNorm.backward(dy: m, dLogdet: dLogdet, dx: m, rows: batch * n, samples: batch, p)
        partition.scatter(m, into: gradient, batch: batch)
    }
}

/// The MixerFlow network: an invertible 1×1 convolution over the colour channels, then `steps` mixing steps, on the
/// plain partition or (every `shiftEvery`-th) the shifted one. x and z are [batch, height, width, channels].
/// The couplings alternate which half they change from one step to the next.
public final class MixerFlow: FlowNetwork {
    public let config: MixerFlowConfig
    public let layout: ParameterLayout
    public var dimensions: Int { config.dimensions }
    let convolution: InvertibleLinear
    let steps: [MixingStep]
    private let work = FloatBuffer(), gradient = FloatBuffer()

    public init(_ config: MixerFlowConfig) {
        precondition(config.height % config.patch == 0 && config.width % config.patch == 0, "image sides must be multiples of the patch")
        self.config = config
        var layout = ParameterLayout()
        convolution = InvertibleLinear("convolution", features: config.channels, layout: &layout)
        let plain = MixerMatrix.plain(height: config.height, width: config.width, channels: config.channels, patch: config.patch)
        let shifted = MixerMatrix.shifted(height: config.height, width: config.width, channels: config.channels, patch: config.patch)
        steps = (0..<config.steps).map { k in
            MixingStep("steps.\(k)", partition: config.isShifted(step: k) ? shifted : plain, config: config, parity: k % 2 == 1, layout: &layout)
        }
        self.layout = layout
    }

    /// Couplings start as the identity, the convolution as a rotation; ActNorms start from the first batch
    /// (`forward(…, initializing: ActNormStart())`).
    public func initialize(_ p: ParameterStore, seed: UInt64) {
        convolution.initialize(p, seed: seed)
        for step in steps {
            step.channelCoupling.initialize(p, seed: seed)
            step.patchCoupling.initialize(p, seed: seed)
        }
    }

    public func forward(_ x: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, batch: Int, logdet: UnsafeMutablePointer<Float>,
                        _ p: ParameterStore, initializing: ActNormStart? = nil) {
        let pixels = batch * config.height * config.width
        convolution.forward(x, z, rows: pixels, samples: batch, logdet: logdet, p)
        for step in steps { step.forward(z, batch: batch, logdet: logdet, p, initializing: initializing) }
    }

    public func inverse(_ z: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, batch: Int, _ p: ParameterStore) {
        let count = batch * config.dimensions
        let image = work.reserve(count)
        image.update(from: z, count: count)
        for step in steps.reversed() { step.inverse(image, batch: batch, p) }
        convolution.inverse(image, x, rows: batch * config.height * config.width, p)
    }

    public func backward(dz: UnsafePointer<Float>, dLogdet: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, batch: Int, _ p: ParameterStore) {
        let count = batch * config.dimensions
        let g = gradient.reserve(count)
        g.update(from: dz, count: count)
        for step in steps.reversed() { step.backward(g, dLogdet: dLogdet, batch: batch, p) }
        convolution.backward(dy: g, dLogdet: dLogdet, dx: dx, rows: batch * config.height * config.width, samples: batch, p)
    }
}
