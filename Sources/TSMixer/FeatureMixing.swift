import NN

/// KerasFactory's FeatureMixing: mixes across channels, time step by time step.
///   u = BN(x viewed as [B, L·N], index l·N + n);  h = Dropout(ReLU(u W1ᵀ + b1)) (N → ff);
///   y = x + Dropout(h W2ᵀ + b2) (ff → N).
public final class FeatureMixing: SequenceLayer {
    public let config: Config
    public var norm: BatchNorm
    public let linear1: Linear
    public let linear2: Linear
    public let dropout1: Dropout
    public let dropout2: Dropout

    public struct Config: Codable, Equatable, Sendable {
        public var nSeries: Int
        public var inputSize: Int
        public var dropout: Float
        public var ffDim: Int
        public init(nSeries: Int, inputSize: Int, dropout: Float, ffDim: Int) {
            self.nSeries = nSeries
            self.inputSize = inputSize
            self.dropout = dropout
            self.ffDim = ffDim
        }
        enum CodingKeys: String, CodingKey {
            case nSeries = "n_series", inputSize = "input_size", dropout, ffDim = "ff_dim"
        }
    }

    private var x: UnsafePointer<Float>?
    private var batch = 0
    private let normalized = FloatBuffer(), hidden = FloatBuffer(), activated = FloatBuffer()
    private let output = FloatBuffer(), mask1 = DropoutMask(), mask2 = DropoutMask()
    private let bnSaved = BatchNorm.Saved()
    private let gradOut = FloatBuffer(), gradHidden = FloatBuffer(), gradPre = FloatBuffer()
    private let gradNorm = FloatBuffer(), scratch = FloatBuffer()

    public init(_ name: String, config: Config, layout: inout ParameterLayout) {
        self.config = config
        let prefix = name.isEmpty ? "" : name + "."
        norm = BatchNorm(prefix + "feature_norm", features: config.inputSize * config.nSeries, layout: &layout)
        linear1 = Linear(prefix + "feature_lin_1", in: config.nSeries, out: config.ffDim, layout: &layout)
        linear2 = Linear(prefix + "feature_lin_2", in: config.ffDim, out: config.nSeries, layout: &layout)
        dropout1 = layout.newDropout(rate: config.dropout)
        dropout2 = layout.newDropout(rate: config.dropout)
    }

    public var inputLength: Int { config.inputSize }
    public var outputLength: Int { config.inputSize }
    public var channels: Int { config.nSeries }

    public func initialize(_ p: ParameterStore, seed: UInt64) {
        norm.initialize(p)
        linear1.initialize(p, seed: seed, .glorotUniform)
        linear2.initialize(p, seed: seed, .glorotUniform)
    }

    public func forward(_ x: UnsafePointer<Float>, batch: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        self.x = x
        self.batch = batch
        let L = config.inputSize, N = config.nSeries, F = config.ffDim
        let count = batch * L * N, hiddenCount = batch * L * F
        let u = normalized.reserve(count), h = hidden.reserve(hiddenCount), a = activated.reserve(hiddenCount)
        let y = output.reserve(count)
        norm.forward(x, u, rows: batch, mode: mode, saved: bnSaved, p)
        linear1.forward(u, h, rows: batch * L, p)
        Activation.relu.forward(h, a, count: hiddenCount)
        dropout1.forward(a, a, mask: mask1, samples: batch, perSample: L * F, context: mode.dropoutContext)
        linear2.forward(a, y, rows: batch * L, p)
        dropout2.forward(y, y, mask: mask2, samples: batch, perSample: L * N, context: mode.dropoutContext)
        addInPlace(y, x, count: count)
        return UnsafePointer(y)
    }

    public func backward(_ dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, _ p: ParameterStore) {
        let L = config.inputSize, N = config.nSeries, F = config.ffDim
        let count = batch * L * N, hiddenCount = batch * L * F
        // Buffers with a single writer are written, not zeroed and accumulated into.
        let dOut = mask2.applied(to: dy, using: gradOut, count: count)
        let dA = gradHidden.reserve(hiddenCount)
        linear2.backward(dy: dOut, x: activated.pointer, dx: dA, rows: batch * L, p, overwritingInput: true)
        mask1.apply(to: dA, count: hiddenCount)
        let dH = gradPre.reserve(hiddenCount)
        dH.update(repeating: 0, count: hiddenCount)
        Activation.relu.backward(dy: dA, x: hidden.pointer, dx: dH, count: hiddenCount)
        let dU = gradNorm.reserve(count)
        linear1.backward(dy: dH, x: normalized.pointer, dx: dU, rows: batch * L, p, overwritingInput: true)
        norm.backward(dy: dU, dx: dx, rows: batch, saved: bnSaved, scratch: scratch, p)
        if let dx { addInPlace(dx, dy, count: count) }
    }
}
