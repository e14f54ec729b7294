import NN

/// The Glow baseline's shape (Kingma & Dhariwal 2018): `levels` levels of `stepsPerLevel` steps, each level
/// starting with a squeeze (2 × 2 pixels into channels); all levels but the last end by factoring out half the
/// channels under a prior conditioned on the other half.
public struct GlowConfig: Sendable, Equatable {
    public var height: Int, width: Int, channels: Int
    public var levels = 2
    public var stepsPerLevel = 8
    public var hidden = 64

    public init(height: Int, width: Int, channels: Int) {
        self.height = height
        self.width = width
        self.channels = channels
    }

    public var dimensions: Int { height * width * channels }
}

/// One Glow level after its squeeze: steps of ActNorm, invertible 1×1 convolution and a convolutional affine
/// coupling on [batch, h, w, c]; then, unless it is the last level, the split: an affine coupling that turns the
/// second half of the channels into standard-normal latents given the first half (Glow's learned prior, written
/// as the flow (z - μ) / σ, whose log-determinant is -Σ log σ), after which only the first half goes on.
final class GlowLevel {
    /// Space to depth, [batch, 2h, 2w, c/4] → [batch, h, w, c]: the mixer-matrix partition into 2 × 2 patches
    /// (a patch's pixels and channels become one pixel's channels). A permutation: log|det| 0.
    let squeeze: MixerMatrix
    let height: Int, width: Int, channels: Int
    let steps: [(ActNorm, InvertibleLinear, AffineCoupling)]
    let split: AffineCoupling?
    private let work = FloatBuffer(), gradient = FloatBuffer()

    init(_ name: String, input: (height: Int, width: Int, channels: Int), steps count: Int, hidden: Int, isLast: Bool,
         layout: inout ParameterLayout) {
        squeeze = .plain(height: input.height, width: input.width, channels: input.channels, patch: 2)
        height = input.height / 2
        width = input.width / 2
        channels = 4 * input.channels
        steps = (0..<count).map { k in
            (ActNorm("\(name).steps.\(k).norm", features: 4 * input.channels, layout: &layout),
             InvertibleLinear("\(name).steps.\(k).convolution", features: 4 * input.channels, layout: &layout),
             AffineCoupling("\(name).steps.\(k).coupling", channels: 4 * input.channels, height: input.height / 2, width: input.width / 2,
                            hidden: hidden, transformsFirstPart: k % 2 == 1, layout: &layout))
        }
        split = isLast ? nil : AffineCoupling("\(name).prior", channels: 4 * input.channels, height: input.height / 2, width: input.width / 2,
                                             hidden: hidden, transformsFirstPart: false, layout: &layout)
    }

    /// Channels that go on to the next level (all of them at the last level).
    var kept: Int { split == nil ? channels : channels / 2 }
    var pixels: Int { height * width }

    /// `x` [batch, 2h, 2w, c/4] → the whole level output [batch, h, w, c] in `out` (first `kept` channels go on).
    func forward(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, batch: Int, logdet: UnsafeMutablePointer<Float>,
                 _ p: ParameterStore, initializing: ActNormStart?) {
        let rows = batch * pixels
        squeeze.gather(x, into: out, batch: batch)
        for (norm, convolution, coupling) in steps {
            if let initializing { norm.initialize(from: out, rows: rows, p, statistics: initializing.statistics) }
            norm.forward(out, out, rows: rows, samples: batch, logdet: logdet, p)
            convolution.forward(out, out, rows: rows, samples: batch, logdet: logdet, p)
            coupling.forward(out, out, rows: rows, samples: batch, logdet: logdet, p)
        }
        split?.forward(out, out, rows: rows, samples: batch, logdet: logdet, p)
    }

    func inverse(_ out: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, batch: Int, _ p: ParameterStore) {
        let rows = batch * pixels, work = self.work.reserve(rows * channels)
        work.update(from: out, count: rows * channels)
        split?.inverse(work, work, rows: rows, p)
        for (norm, convolution, coupling) in steps.reversed() {
            coupling.inverse(work, work, rows: rows, p)
            convolution.inverse(work, work, rows: rows, p)
            norm.inverse(work, work, rows: rows, p)
        }
        squeeze.scatter(work, into: x, batch: batch)
    }

    /// dx [batch, 2h, 2w, c/4] from the gradient of the whole level output [batch, h, w, c].
    func backward(_ dOut: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, dLogdet: UnsafePointer<Float>, batch: Int, _ p: ParameterStore) {
        let rows = batch * pixels, g = gradient.reserve(rows * channels)
        g.update(from: dOut, count: rows * channels)
        split?.backward(dy: g, dLogdet: dLogdet, dx: g, rows: rows, samples: batch, p)
        for (norm, convolution, coupling) in steps.reversed() {
            coupling.backward(dy: g, dLogdet: dLogdet, dx: g, rows: rows, samples: batch, p)
            convolution.backward(dy: g, dLogdet: dLogdet, dx: g, rows: rows, samples: batch, p)
            norm.backward(dy: g, dLogdet: dLogdet, dx: g, rows: rows, samples: batch, p)
        }
        squeeze.scatter(g, into: dx, batch: batch)
    }
}

/// The multi-scale Glow network on [batch, height, width, channels] images. z per image is the concatenation of
/// every level's factored-out half (level 0 first) and the last level's output, each [h, w, channels] in order.
public final class Glow: FlowNetwork {
    public let config: GlowConfig
    public let layout: ParameterLayout
    public var dimensions: Int { config.dimensions }
    let levels: [GlowLevel]
    /// Per level: its whole output, its kept channels (the next level's input), its latents packed per image, and
    /// the gradients of the first two.
    private var buffers: [(output: FloatBuffer, kept: FloatBuffer, latents: FloatBuffer, gradOutput: FloatBuffer, gradKept: FloatBuffer)] = []

    public init(_ config: GlowConfig) {
        var size = (height: config.height, width: config.width, channels: config.channels)
        precondition(config.levels >= 1 && config.height % (1 << config.levels) == 0 && config.width % (1 << config.levels) == 0,
                     "image sides must be divisible by 2^levels")
        self.config = config
        var layout = ParameterLayout()
        var levels: [GlowLevel] = []
        for l in 0..<config.levels {
            let level = GlowLevel("levels.\(l)", input: size, steps: config.stepsPerLevel, hidden: config.hidden,
                                  isLast: l == config.levels - 1, layout: &layout)
            levels.append(level)
            size = (level.height, level.width, level.kept)
        }
        self.levels = levels
        self.layout = layout
        buffers = levels.map { _ in (FloatBuffer(), FloatBuffer(), FloatBuffer(), FloatBuffer(), FloatBuffer()) }
    }

    public func initialize(_ p: ParameterStore, seed: UInt64) {
        for level in levels {
            for (_, convolution, coupling) in level.steps {
                convolution.initialize(p, seed: seed)
                coupling.initialize(p, seed: seed)
            }
            level.split?.initialize(p, seed: seed)
        }
    }

    /// Where each level's z part starts in an image's z, and how long it is.
    private var parts: [(offset: Int, count: Int)] {
        var offset = 0
        return levels.map { level in
            let count = level.pixels * (level.channels - (level.split == nil ? 0 : level.kept))
            defer { offset += count }
            return (offset, count)
        }
    }

    /// Copies channels `channels` of [batch, pixels, width] rows into (or, `back`, out of) a packed [batch, pixels, channels.count].
    private static func channelSlice(_ from: UnsafePointer<Float>, _ to: UnsafeMutablePointer<Float>, rows: Int, width: Int,
                                     channels: Range<Int>, back: Bool = false) {
        let n = channels.count
        for r in 0..<rows {
            if back { (to + r * width + channels.lowerBound).update(from: from + r * n, count: n) }
            else { (to + r * n).update(from: from + r * width + channels.lowerBound, count: n) }
        }
    }

    public func forward(_ x: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, batch: Int, logdet: UnsafeMutablePointer<Float>,
                        _ p: ParameterStore, initializing: ActNormStart? = nil) {
        let d = config.dimensions
        var input = x
        for (l, level) in levels.enumerated() {
            let rows = batch * level.pixels, (offset, count) = parts[l]
            let out = buffers[l].output.reserve(rows * level.channels)
            level.forward(input, out, batch: batch, logdet: logdet, p, initializing: initializing)
            let finished = level.split == nil ? 0..<level.channels : level.kept..<level.channels
            // This level's latents into each image's z.
            let latents = buffers[l].latents.reserve(rows * level.channels)
            Self.channelSlice(out, latents, rows: rows, width: level.channels, channels: finished)
            for b in 0..<batch { (z + b * d + offset).update(from: latents + b * count, count: count) }
            if level.split != nil {
                let kept = buffers[l].kept.reserve(rows * level.kept)
                Self.channelSlice(out, kept, rows: rows, width: level.channels, channels: 0..<level.kept)
                input = UnsafePointer(kept)
            }
        }
    }

    public func inverse(_ z: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, batch: Int, _ p: ParameterStore) {
        walkDown(z, batch: batch, level: { buffers[$0].output }, below: { buffers[$0].kept }, bottom: x) { level, tensor, target in
            level.inverse(tensor, target, batch: batch, p)
        }
    }

    public func backward(dz: UnsafePointer<Float>, dLogdet: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, batch: Int, _ p: ParameterStore) {
        walkDown(dz, batch: batch, level: { buffers[$0].gradOutput }, below: { buffers[$0].gradKept }, bottom: dx) { level, tensor, target in
            level.backward(tensor, dx: target, dLogdet: dLogdet, batch: batch, p)
        }
    }

    /// The levels from the last to the first, as inverse and backward take them: each level's whole output (or its
    /// gradient) is put together from its part of `z` (or dz) and the kept channels the level above produced, and
    /// `step` turns it into the level's input (or its gradient): the kept channels of the level below, or `bottom`.
    private func walkDown(_ z: UnsafePointer<Float>, batch: Int, level tensorBuffer: (Int) -> FloatBuffer, below keptBuffer: (Int) -> FloatBuffer,
                          bottom: UnsafeMutablePointer<Float>, _ step: (GlowLevel, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void) {
        let d = config.dimensions
        var fromAbove: UnsafePointer<Float>? = nil
        for (l, level) in levels.enumerated().reversed() {
            let rows = batch * level.pixels, (offset, count) = parts[l]
            let tensor = tensorBuffer(l).reserve(rows * level.channels), packed = buffers[l].latents.reserve(rows * level.channels)
            for b in 0..<batch { (packed + b * count).update(from: z + b * d + offset, count: count) }
            let finished = level.split == nil ? 0..<level.channels : level.kept..<level.channels
            Self.channelSlice(packed, tensor, rows: rows, width: level.channels, channels: finished, back: true)
            if let fromAbove { Self.channelSlice(fromAbove, tensor, rows: rows, width: level.channels, channels: 0..<level.kept, back: true) }
            let target = l == 0 ? bottom : keptBuffer(l - 1).reserve(batch * levels[l - 1].pixels * levels[l - 1].kept)
            step(level, UnsafePointer(tensor), target)
            fromAbove = UnsafePointer(target)
        }
    }
}
