import Foundation
import NN

/// The architecture of a TinyTimeMixer, in the vocabulary of IBM's `config.json` (granite-tsfm).
public struct TTMConfig: Equatable, Sendable {
    public enum ChannelMode: String, CaseIterable, Sendable { case commonChannel = "common_channel", mixChannel = "mix_channel" }
    public enum Scaling: String, Sendable { case std, none }

    public var contextLength: Int
    public var predictionLength: Int
    public var patchLength: Int
    public var patchStride: Int
    public var numInputChannels: Int
    public var dModel: Int
    public var expansionFactor: Int
    public var numLayers: Int
    public var adaptivePatchingLevels: Int
    public var decoderNumLayers: Int
    public var decoderDModel: Int
    public var decoderMode: ChannelMode
    public var mode: ChannelMode
    public var gatedAttention: Bool
    public var dropout: Float
    public var headDropout: Float
    public var scaling: Scaling
    public var normEpsilon: Float
    public var loss: Loss
    /// IBM fields we do not model, kept verbatim so a config written back loads in PyTorch unchanged.
    public var preserved: [String: JSONValue] = [:]

    public init(contextLength: Int, predictionLength: Int, patchLength: Int, patchStride: Int? = nil,
                numInputChannels: Int = 1, dModel: Int, expansionFactor: Int = 2, numLayers: Int,
                adaptivePatchingLevels: Int = 0, decoderNumLayers: Int, decoderDModel: Int,
                decoderMode: ChannelMode = .commonChannel, mode: ChannelMode = .commonChannel, gatedAttention: Bool = true,
                dropout: Float = 0.2, headDropout: Float = 0.2, scaling: Scaling = .std, normEpsilon: Float = 1e-5,
                loss: Loss = .mse) {
        self.contextLength = contextLength
        self.predictionLength = predictionLength
        self.patchLength = patchLength
        self.patchStride = patchStride ?? patchLength
        self.numInputChannels = numInputChannels
        self.dModel = dModel
        self.expansionFactor = expansionFactor
        self.numLayers = numLayers
        self.adaptivePatchingLevels = adaptivePatchingLevels
        self.decoderNumLayers = decoderNumLayers
        self.decoderDModel = decoderDModel
        self.decoderMode = decoderMode
        self.mode = mode
        self.gatedAttention = gatedAttention
        self.dropout = dropout
        self.headDropout = headDropout
        self.scaling = scaling
        self.normEpsilon = normEpsilon
        self.loss = loss
    }

    /// Patches per series: (context - patch) / stride + 1.
    public var numPatches: Int { (contextLength - patchLength) / patchStride + 1 }

    /// The split factor of each encoder group, coarsest split first: 2^level for level A-1 down to 0, and 1
    /// where the width would drop to 4 or less.
    public var adaptiveFactors: [Int] {
        guard adaptivePatchingLevels > 0 else { return [1] }
        return (0..<adaptivePatchingLevels).map { group in
            let factor = 1 << (adaptivePatchingLevels - 1 - group)
            return dModel / factor <= 4 ? 1 : factor
        }
    }

    public func validate() throws {
        func positive(_ key: String, _ value: Int) throws {
            if value < 1 { throw ConfigError(key: key, message: "must be at least 1, got \(value)") }
            // Far beyond any TTM; keeps the size arithmetic of the layout from overflowing.
            if value > 1 << 20 { throw ConfigError(key: key, message: "\(value) is larger than \(1 << 20), the largest size ttm accepts") }
        }
        try positive("context_length", contextLength)
        try positive("prediction_length", predictionLength)
        try positive("patch_length", patchLength)
        try positive("patch_stride", patchStride)
        try positive("num_input_channels", numInputChannels)
        try positive("d_model", dModel)
        try positive("expansion_factor", expansionFactor)
        try positive("num_layers", numLayers)
        try positive("decoder_num_layers", decoderNumLayers)
        try positive("decoder_d_model", decoderDModel)
        if adaptivePatchingLevels < 0 || adaptivePatchingLevels > 20 {
            throw ConfigError(key: "adaptive_patching_levels", message: "must be between 0 and 20, got \(adaptivePatchingLevels)")
        }
        if patchLength > contextLength {
            throw ConfigError(key: "patch_length", message: "\(patchLength) is longer than context_length \(contextLength)")
        }
        if patchStride != patchLength {
            throw ConfigError(key: "patch_stride", message: "must equal patch_length (\(patchLength)): TTM uses non-overlapping patches, got \(patchStride)")
        }
        for factor in adaptiveFactors where dModel % factor != 0 {
            throw ConfigError(key: "d_model", message: "\(dModel) is not divisible by the adaptive patching factor \(factor)")
        }
        for (key, value) in [("dropout", dropout), ("head_dropout", headDropout)] where !(0..<1).contains(value) {
            throw ConfigError(key: key, message: "must be in [0, 1), got \(value)")
        }
        if !(normEpsilon > 0) { throw ConfigError(key: "norm_eps", message: "must be positive, got \(normEpsilon)") }
    }
}
