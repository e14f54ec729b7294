import Foundation
import NN

extension TTMConfig {
    /// The seed project's TTMConfig vocabulary, mapped onto IBM's fields.
    static let seedVocabulary: [String: String] = [
        "num_backbone_levels": "adaptive_patching_levels",
        "blocks_per_level": "num_layers",
        "decoder_layers": "decoder_num_layers",
        "hidden_features": "d_model",
        "decoder_hidden_features": "decoder_d_model",
        "use_revin": "scaling",
    ]

    /// A model section written in either vocabulary (IBM's config.json names, or the seed's
    /// num_backbone_levels / blocks_per_level / decoder_layers / hidden_features / use_revin; the two may be
    /// mixed but not for the same setting). Unknown keys are errors naming the key. In the seed vocabulary the
    /// decoder is as wide as the backbone unless decoder_hidden_features says otherwise.
    public init(modelSection fields: [String: JSONValue], source: String) throws {
        var ibm: [String: JSONValue] = [:]
        for (key, value) in fields {
            if let target = Self.seedVocabulary[key] {
                if fields[target] != nil {
                    throw ConfigError(key: key, message: "given together with '\(target)', which sets the same thing")
                }
                if key == "use_revin" {
                    guard case .bool(let on) = value else { throw ConfigError(key: key, message: "must be true or false, got \(value)") }
                    ibm[target] = on ? .string("std") : .bool(false)
                } else {
                    ibm[target] = value
                }
            } else if Self.modeledKeys.contains(key) {
                ibm[key] = value
            } else {
                throw ConfigError(key: key, message: "unknown model field in \(source)")
            }
        }
        if ibm["decoder_d_model"] == nil, let width = ibm["d_model"] { ibm["decoder_d_model"] = width }
        if ibm["patch_stride"] == nil, let patch = ibm["patch_length"] { ibm["patch_stride"] = patch }
        let data = try JSONEncoder().encode(ibm)
        do { try self.init(json: data, source: source) } catch let error as ConfigError {
            // Name the key as the user wrote it.
            if let written = Self.seedVocabulary.first(where: { $0.value == error.key && fields[$0.key] != nil })?.key {
                throw ConfigError(key: written, message: error.message)
            }
            throw error
        }
    }
}
