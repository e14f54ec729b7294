import NN

/// KerasFactory's TemporalMixing: mixes along time, channel by channel.
///   u = BN(x viewed as [B, N·L], index n·L + l);  h = ReLU(u Wᵀ + b) over time (W [L, L]);
///   y = x + Dropout(h transposed back to [B, L, N]).
public final class TemporalMixing: SequenceLayer {
    public let config: Config
    public var norm: BatchNorm
    public let linear: Linear
    public let dropout: Dropout

    public struct Config: Codable, Equatable, Sendable {
        public var nSeries: Int
        public var inputSize: Int
        public var dropout: Float
        public init(nSeries: Int, inputSize: Int, dropout: Float) {
            self.nSeries = nSeries
            self.inputSize = inputSize
            self.dropout = dropout
        }
        enum CodingKeys: String, CodingKey { case nSeries = "n_series", inputSize = "input_size", dropout }
    }

    private var x: UnsafePointer<Float>?
    private var batch = 0
    private let transposed = FloatBuffer(), normalized = FloatBuffer(), hidden = FloatBuffer()
    private let output = FloatBuffer(), mask = DropoutMask()
    private let bnSaved = BatchNorm.Saved()
    private let gradA = FloatBuffer(), gradB = FloatBuffer(), scratch = FloatBuffer()

    public init(_ name: String, config: Config, layout: inout ParameterLayout) {
        self.config = config
        let prefix = name.isEmpty ? "" : name + "."
        norm = BatchNorm(prefix + "temporal_norm", features: config.nSeries * config.inputSize, layout: &layout)
        linear = Linear(prefix + "temporal_lin", in: config.inputSize, out: config.inputSize, layout: &layout)
        dropout = layout.newDropout(rate: config.dropout)
    }

    public var inputLength: Int { config.inputSize }
    public var outputLength: Int { config.inputSize }
    public var channels: Int { config.nSeries }

    public func initialize(_ p: ParameterStore, seed: UInt64) {
        norm.initialize(p)
        linear.initialize(p, seed: seed, .glorotUniform)
    }

    public func forward(_ x: UnsafePointer<Float>, batch: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        self.x = x
        self.batch = batch
        let L = config.inputSize, N = config.nSeries, count = batch * L * N
        let xt = transposed.reserve(count), u = normalized.reserve(count), h = hidden.reserve(count)
        let y = output.reserve(count)
        Permute.swapLastTwo(x, xt, batch: batch, rows: L, cols: N)                 // [B, N, L]
        norm.forward(xt, u, rows: batch, mode: mode, saved: bnSaved, p)
        linear.forward(u, h, rows: batch * N, p)                                   // over time
        Activation.relu.forward(h, xt, count: count)                               // xt reused: ReLU(h)
        Permute.swapLastTwo(xt, y, batch: batch, rows: N, cols: L)                 // [B, L, N]
        dropout.forward(y, y, mask: mask, samples: batch, perSample: L * N, context: mode.dropoutContext)
        addInPlace(y, x, count: count)
        return UnsafePointer(y)
    }

    public func backward(_ dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, _ p: ParameterStore) {
        let L = config.inputSize, N = config.nSeries, count = batch * L * N
        // Buffers with a single writer are written, not zeroed and accumulated into.
        let a = gradA.reserve(count), b = gradB.reserve(count)
        let dOut = mask.applied(to: dy, using: gradA, count: count)              // d(ReLU out) in [B, L, N]
        Permute.swapLastTwo(dOut, b, batch: batch, rows: L, cols: N)               // to [B, N, L]
        a.update(repeating: 0, count: count)
        Activation.relu.backward(dy: b, x: hidden.pointer, dx: a, count: count)    // dh
        linear.backward(dy: a, x: normalized.pointer, dx: b, rows: batch * N, p, overwritingInput: true)   // du
        guard let dx else {
            norm.backward(dy: b, dx: nil, rows: batch, saved: bnSaved, scratch: scratch, p)
            return
        }
        a.update(repeating: 0, count: count)
        norm.backward(dy: b, dx: a, rows: batch, saved: bnSaved, scratch: scratch, p)  // d(x transposed)
        Permute.swapLastTwoAdding(a, into: dx, batch: batch, rows: L, cols: N)
        addInPlace(dx, dy, count: count)                                            // residual
    }
}
