import Foundation
import NN

extension TTMConfig {
    /// IBM fields that select features this implementation does not have: each must hold one of the listed
    /// values (their disabled defaults), else the config is refused with the field named.
    static let requiredValues: [String: [JSONValue]] = [
        "use_decoder": [.bool(true)],
        "decoder_adaptive_patching_levels": [.number(0)],
        "self_attn": [.bool(false)],
        "resolution_prefix_tuning": [.bool(false)],
        "use_positional_encoding": [.bool(false)],
        "enable_forecast_channel_mixing": [.bool(false)],
        "multi_quantile_head": [.bool(false)],
        "decompose": [.bool(false)],
        "multi_scale": [.bool(false)],
        "decoder_raw_residual": [.bool(false)],
        "enable_base_norm_always": [.bool(false)],
        "register_tokens": [.number(0), .null],
        "fft_length": [.number(0), .null],
        "norm_mlp": [.string("LayerNorm")],
        "patch_last": [.bool(true)],
        "penalize_large_width_ratio": [.number(0), .null],
        "prediction_channel_indices": [.null],
        "exogenous_channel_indices": [.null],
        "categorical_vocab_size_list": [.null],
        "prediction_filter_length": [.null],
        "masked_context_length": [.null],
        "residual_context_length": [.null],
        "trend_adaptive_patching_levels": [.null], "trend_d_model": [.null], "trend_decoder_d_model": [.null],
        "trend_decoder_num_layers": [.null], "trend_fft_length": [.null], "trend_head_d_model": [.null],
        "trend_multi_scale": [.null], "trend_num_layers": [.null], "trend_patch_length": [.null],
        "trend_patch_stride": [.null], "trend_register_tokens": [.null],
    ]

    /// IBM fields that do not change what the model computes here (initialisation, the unused quantile and
    /// forecast-channel-mixing heads, bookkeeping): accepted and written back as read. The values are IBM's
    /// defaults, used when we write a config of our own.
    static let passthroughDefaults: [String: JSONValue] = [
        "architectures": .array([.string("TinyTimeMixerForPrediction")]),
        "model_type": .string("tinytimemixer"),
        "transformers_version": .string("5.23.0"),
        "dtype": .string("float32"),
        "combine_quantiles_via_variance": .bool(false), "distribution_output": .string("student_t"),
        "fcm_context_length": .number(1), "fcm_gated_attn": .bool(true), "fcm_mix_layers": .number(2),
        "fcm_prepend_past": .bool(true), "fcm_prepend_past_offset": .null, "fcm_use_mixer": .bool(false),
        "forecast_loss_type": .string("joint"), "frequency_token_vocab_size": .number(5), "huber_delta": .number(1),
        "init_embed": .string("pytorch"), "init_linear": .string("pytorch"), "init_processing": .bool(true),
        "init_std": .number(0.02), "joint_loss_weight": .number(1), "light_mode": .bool(false), "mask_value": .number(0),
        "mq_cond_mode": .string("add"), "mq_cond_path": .string("pool"), "mq_decoder_d_model": .number(8),
        "mq_eps": .number(1e-6), "mq_hidden": .number(8), "mq_kernel_size": .number(3), "mq_q50_type": .string("median"),
        "mq_use_decoder_pool": .bool(false), "mq_use_positional": .bool(false), "num_parallel_samples": .number(100),
        "point_extra_weight": .number(0), "positional_encoding_type": .string("sincos"), "post_init": .bool(false),
        "quantile": .number(0.5), "quantile_levels": .array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9].map { .number($0) }),
        "residual_loss_weight": .number(1), "self_attn_heads": .number(1), "trend_loss_weight": .number(1),
        "use_fft_embedding": .bool(true), "width_penalty_mode": .string("boundary"),
    ]

    static let modeledKeys: Set<String> = [
        "context_length", "prediction_length", "patch_length", "patch_stride", "num_input_channels", "d_model",
        "expansion_factor", "num_layers", "adaptive_patching_levels", "decoder_num_layers", "decoder_d_model",
        "decoder_mode", "mode", "gated_attn", "dropout", "head_dropout", "scaling", "norm_eps", "loss", "num_patches",
    ]

    /// Reads IBM's `config.json`. Unknown fields, features we do not implement, wrong types and inconsistent
    /// values are errors naming the field.
    public init(json data: Data, source: String = "config.json") throws {
        let fields = try JSONValue.object(from: data)
        let reader = ConfigFields(fields: fields, source: source)
        self.init(
            contextLength: try reader.int("context_length"),
            predictionLength: try reader.int("prediction_length"),
            patchLength: try reader.int("patch_length"),
            patchStride: try reader.int("patch_stride"),
            numInputChannels: try reader.int("num_input_channels", default: 1),
            dModel: try reader.int("d_model"),
            expansionFactor: try reader.int("expansion_factor", default: 2),
            numLayers: try reader.int("num_layers"),
            adaptivePatchingLevels: try reader.int("adaptive_patching_levels", default: 0),
            decoderNumLayers: try reader.int("decoder_num_layers"),
            decoderDModel: try reader.int("decoder_d_model"),
            decoderMode: try reader.enumeration("decoder_mode", default: .commonChannel),
            mode: try reader.enumeration("mode", default: .commonChannel),
            gatedAttention: try reader.bool("gated_attn", default: true),
            dropout: Float(try reader.double("dropout", default: 0.2)),
            headDropout: Float(try reader.double("head_dropout", default: 0.2)),
            scaling: try reader.scaling(),
            normEpsilon: Float(try reader.double("norm_eps", default: 1e-5)),
            loss: try reader.enumeration("loss", default: .mse))
        for (key, value) in fields where !Self.modeledKeys.contains(key) {
            if let allowed = Self.requiredValues[key] {
                guard allowed.contains(value) else {
                    throw ConfigError(key: key, message: "\(value) is not supported (supported: \(allowed.map(\.description).joined(separator: " or ")))")
                }
                preserved[key] = value
            } else if Self.passthroughDefaults[key] != nil {
                preserved[key] = value
            } else {
                throw ConfigError(key: key, message: "unknown field in \(source)")
            }
        }
        try validate()  // before anything divides by patch_stride
        if case .number(let stored)? = fields["num_patches"], Int(stored) != numPatches {
            throw ConfigError(key: "num_patches", message: "\(source) says \(Int(stored)) but context_length \(contextLength), patch_length \(patchLength) and patch_stride \(patchStride) give \(numPatches)")
        }
    }

    /// IBM's `config.json` for this architecture: every field PyTorch expects, keys sorted, 2-space indent.
    public func jsonData() throws -> Data {
        var fields: [String: JSONValue] = Self.passthroughDefaults
        for (key, values) in Self.requiredValues { fields[key] = values[0] }
        fields.merge(preserved) { _, kept in kept }
        let modeled: [String: JSONValue] = [
            "context_length": .number(Double(contextLength)), "prediction_length": .number(Double(predictionLength)),
            "patch_length": .number(Double(patchLength)), "patch_stride": .number(Double(patchStride)),
            "num_input_channels": .number(Double(numInputChannels)), "d_model": .number(Double(dModel)),
            "expansion_factor": .number(Double(expansionFactor)), "num_layers": .number(Double(numLayers)),
            "adaptive_patching_levels": .number(Double(adaptivePatchingLevels)),
            "decoder_num_layers": .number(Double(decoderNumLayers)), "decoder_d_model": .number(Double(decoderDModel)),
            "decoder_mode": .string(decoderMode.rawValue), "mode": .string(mode.rawValue),
            "gated_attn": .bool(gatedAttention), "dropout": .float(dropout), "head_dropout": .float(headDropout),
            "scaling": scaling == .std ? .string("std") : .bool(false), "norm_eps": .float(normEpsilon),
            "loss": .string(loss.rawValue), "num_patches": .number(Double(numPatches)),
        ]
        fields.merge(modeled) { _, new in new }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(fields)
    }
}

extension ConfigFields {
    func scaling() throws -> TTMConfig.Scaling {
        switch fields["scaling"] {
        // granite-tsfm 0.3.11 builds its std scaler for "std" and for true.
        case .string("std")?, .bool(true)?, nil: return .std
        case .bool(false)?, .null?: return .none
        // "mean" is IBM's mean scaler, which is not implemented here.
        case let other?: throw ConfigError(key: "scaling", message: "unsupported value \(other) (supported: \"std\", true, false, null)")
        }
    }
}
