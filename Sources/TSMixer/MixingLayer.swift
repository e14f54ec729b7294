import NN

/// KerasFactory's MixingLayer: FeatureMixing(TemporalMixing(x)).
public final class MixingLayer: SequenceLayer {
    public typealias Config = FeatureMixing.Config

    public let name: String
    public let config: Config
    public let temporal: TemporalMixing
    public let feature: FeatureMixing
    /// The output of the last forward, [batch, time, channels], and its element count (for locating a NaN).
    public private(set) var lastOutput: UnsafePointer<Float>?
    public private(set) var count = 0
    private let gradMiddle = FloatBuffer()

    public init(_ name: String, config: Config, layout: inout ParameterLayout) {
        self.name = name
        self.config = config
        let prefix = name.isEmpty ? "" : name + "."
        temporal = TemporalMixing(prefix + "temporal_mixer",
                                  config: .init(nSeries: config.nSeries, inputSize: config.inputSize, dropout: config.dropout),
                                  layout: &layout)
        feature = FeatureMixing(prefix + "feature_mixer", config: config, layout: &layout)
    }

    public var inputLength: Int { config.inputSize }
    public var outputLength: Int { config.inputSize }
    public var channels: Int { config.nSeries }

    public func initialize(_ p: ParameterStore, seed: UInt64) {
        temporal.initialize(p, seed: seed)
        feature.initialize(p, seed: seed)
    }

    public func forward(_ x: UnsafePointer<Float>, batch: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        count = batch * config.inputSize * config.nSeries
        let y = feature.forward(temporal.forward(x, batch: batch, mode: mode, p), batch: batch, mode: mode, p)
        lastOutput = y
        return y
    }

    public func backward(_ dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, _ p: ParameterStore) {
        let middle = gradMiddle.reserve(count)
        middle.update(repeating: 0, count: count)
        feature.backward(dy, dx: middle, p)
        temporal.backward(middle, dx: dx, p)
    }
}

/// Mixing layers applied one after another (KerasFactory's TSMixer body), named mixing_layer_0, _1, ...
public final class MixingStack: SequenceLayer {
    public let layers: [MixingLayer]
    private let chain = ChainGradients()
    private var count = 0

    public init(_ name: String, blocks: Int, config: MixingLayer.Config, layout: inout ParameterLayout) {
        let prefix = name.isEmpty ? "" : name + "."
        layers = (0..<blocks).map { MixingLayer(prefix + "mixing_layer_\($0)", config: config, layout: &layout) }
    }

    public var inputLength: Int { layers.first?.inputLength ?? 0 }
    public var outputLength: Int { inputLength }
    public var channels: Int { layers.first?.channels ?? 0 }

    public func initialize(_ p: ParameterStore, seed: UInt64) {
        for layer in layers { layer.initialize(p, seed: seed) }
    }

    public func forward(_ x: UnsafePointer<Float>, batch: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float> {
        count = batch * inputLength * channels
        var h = x
        for layer in layers { h = layer.forward(h, batch: batch, mode: mode, p) }
        return h
    }

    public func backward(_ dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, _ p: ParameterStore) {
        guard !layers.isEmpty else {
            if let dx { addInPlace(dx, dy, count: count) }
            return
        }
        chain.backward(layers: layers.count, count: count, dy: dy, dx: dx) { index, dy, dx in layers[index].backward(dy, dx: dx, p) }
    }
}
