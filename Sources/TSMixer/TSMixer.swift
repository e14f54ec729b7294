import Foundation
import NN

/// KerasFactory's TSMixer model: optional RevIN over time, `nBlocks` mixing layers, a Dense over time
/// (seq_len → pred_len) applied per channel, then RevIN undone on the forecast.
/// x [batch, seq_len, n_features] → y [batch, pred_len, n_features].
public final class TSMixer: SequenceLayer {
    public struct Config: Codable, Equatable, Sendable {
        public var seqLen: Int
        public var predLen: Int
        public var nFeatures: Int
        public var nBlocks: Int
        public var ffDim: Int
        public var dropout: Float
        public var useNorm: Bool
        public var normAffine: Bool

        public init(seqLen: Int, predLen: Int, nFeatures: Int, nBlocks: Int = 2, ffDim: Int = 64,
                    dropout: Float = 0.1, useNorm: Bool = true, normAffine: Bool = false) {
            self.seqLen = seqLen
            self.predLen = predLen
            self.nFeatures = nFeatures
            self.nBlocks = nBlocks
            self.ffDim = ffDim
            self.dropout = dropout
            self.useNorm = useNorm
            self.normAffine = normAffine
        }

        enum CodingKeys: String, CodingKey {
            case seqLen = "seq_len", predLen = "pred_len", nFeatures = "n_features", nBlocks = "n_blocks"
            case ffDim = "ff_dim", dropout, useNorm = "use_norm", normAffine = "norm_affine"
        }

        /// Checks the values; the error names the offending key.
        public func validate() throws {
            for (key, value) in [("seq_len", seqLen), ("pred_len", predLen), ("n_features", nFeatures), ("ff_dim", ffDim)]
            where value < 1 || value > 1 << 20 {
                throw ConfigError(key: key, message: "must be between 1 and \(1 << 20), got \(value)")
            }
            if nBlocks < 0 || nBlocks > 1 << 10 { throw ConfigError(key: "n_blocks", message: "must be between 0 and \(1 << 10), got \(nBlocks)") }
            if !(0..<1).contains(dropout) { throw ConfigError(key: "dropout", message: "must be in [0, 1), got \(dropout)") }
        }
    }

    public let config: Config
    public let layout: ParameterLayout
    public let revin: RevIN?
    public let body: MixingStack
    public let projection: Linear

    /// Fine-tuning: the mixing layers keep their weights and use their moving statistics; only the output
    /// projection (and RevIN's affine map, when there is one) trains.
    public internal(set) var bodyFrozen = false

    private var batch = 0
    private var x: UnsafePointer<Float>?

    private let normalizedInput = FloatBuffer(), transposed = FloatBuffer(), projected = FloatBuffer()
    private let output = FloatBuffer()
    private let gradA = FloatBuffer(), gradB = FloatBuffer(), gradBody = FloatBuffer(), scratch = FloatBuffer()

    public init(config: Config) throws {
        try config.validate()
        self.config = config
        var layout = ParameterLayout()
        revin = config.useNorm ? RevIN("instance_norm", channels: config.nFeatures, affine: config.normAffine, layout: &layout) : nil
        body = MixingStack("", blocks: config.nBlocks,
                           config: .init(nSeries: config.nFeatures, inputSize: config.seqLen, dropout: config.dropout, ffDim: config.ffDim),
                           layout: &layout)
        projection = Linear("output_projection", in: config.seqLen, out: config.predLen, layout: &layout)
        self.layout = layout
    }

    /// Each stage's output in the last forward, named as the Keras layers (the projection's output is checked
    /// after denormalisation, where it is kept).
    var stages: [(name: String, output: UnsafePointer<Float>, count: Int)] {
        let L = config.seqLen, P = config.predLen, N = config.nFeatures
        var result: [(String, UnsafePointer<Float>, Int)] = []
        if revin != nil { result.append(("instance_norm", UnsafePointer(normalizedInput.pointer), batch * L * N)) }
        for layer in body.layers { if let y = layer.lastOutput { result.append((layer.name, y, layer.count)) } }
        result.append((revin == nil ? "output_projection" : "output_projection (after denormalisation)", UnsafePointer(output.pointer), batch * P * N))
        return result
    }

    public var inputLength: Int { config.seqLen }
    public var outputLength: Int { config.predLen }
    public var channels: Int { config.nFeatures }

    public func initialize(_ p: ParameterStore, seed: UInt64) {
        revin?.initialize(p)
        body.initialize(p, seed: seed)
        projection.initialize(p, seed: seed, .glorotUniform)
    }

    public func forward(_ x: UnsafePointer<Float>, batch: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        self.x = x
        self.batch = batch
        let L = config.seqLen, P = config.predLen, N = config.nFeatures
        let scaled = revin?.normalize(x, into: normalizedInput, batch: batch, time: L, p) ?? x
        let h = body.forward(scaled, batch: batch, mode: mode, p)
        let ht = transposed.reserve(batch * L * N), z = projected.reserve(batch * P * N)
        Permute.swapLastTwo(h, ht, batch: batch, rows: L, cols: N)          // [B, N, L]
        projection.forward(ht, z, rows: batch * N, p)                        // [B, N, P]
        let y = output.reserve(batch * P * N)
        Permute.swapLastTwo(z, y, batch: batch, rows: N, cols: P)           // [B, P, N]
        if let revin {
            revin.denormalize(y, y, horizon: P, p)
        }
        return UnsafePointer(y)
    }

    public func backward(_ dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, _ p: ParameterStore) {
        let L = config.seqLen, P = config.predLen, N = config.nFeatures
        let upstream = revin?.denormalizeBackward(dOut: dy, into: gradA, p) ?? dy
        // Buffers with a single writer are written, not zeroed and accumulated into.
        let dz = gradB.reserve(batch * P * N)
        Permute.swapLastTwo(upstream, dz, batch: batch, rows: P, cols: N)
        let dht = gradA.reserve(max(batch * L * N, batch * P * N))
        projection.backward(dy: dz, x: transposed.pointer, dx: dht, rows: batch * N, p, overwritingInput: true)
        // Frozen mixing layers need no gradient, unless a trainable RevIN affine map or dx lies below them.
        let affineTrains = revin?.affineWeight.map(p.needsGradient) ?? false
        if bodyFrozen && !affineTrains && dx == nil { return }
        let dh = gradBody.reserve(batch * L * N)
        Permute.swapLastTwo(dht, dh, batch: batch, rows: N, cols: L)
        if let revin {
            let dxn = gradB.reserve(max(batch * L * N, batch * P * N))
            dxn.update(repeating: 0, count: batch * L * N)
            body.backward(dh, dx: dxn, p)
            revin.normalizeBackward(dy: dxn, dx: dx, includeDenormalize: true, scratch: scratch, p)
        } else {
            body.backward(dh, dx: dx, p)
        }
    }
}
