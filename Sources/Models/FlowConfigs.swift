import Checkpoint
import Flow
import Foundation
import NN

/// The flows' architectures as config fields: the run config's `model` section (`kind: mixerflow` or `kind:
/// glow` and the keys below) and their own `config.json` (`model_type: mixerflow` / `glow`, the same keys).
/// Image sides default to Fashion-MNIST's 28 x 28 x 1; training checks them against the data.
extension MixerFlowConfig {
    static let keys: Set<String> = ["height", "width", "channels", "patch", "steps", "shift_every", "channel_hidden", "patch_hidden"]

    public init(fields: [String: JSONValue], source: String) throws {
        try refuseUnknown(fields, known: Self.keys, kind: "mixerflow", source: source)
        let reader = ConfigFields(fields: fields, source: source)
        self.init(height: try reader.int("height", default: 28), width: try reader.int("width", default: 28),
                  channels: try reader.int("channels", default: 1))
        patch = try reader.int("patch", default: 4)
        steps = try reader.int("steps", default: 30)
        shiftEvery = try reader.int("shift_every", default: 4)
        channelHidden = try reader.int("channel_hidden", default: 128)
        patchHidden = try reader.int("patch_hidden", default: 64)
        try positive(["height": height, "width": width, "channels": channels, "patch": patch, "steps": steps,
                      "channel_hidden": channelHidden, "patch_hidden": patchHidden])
        guard shiftEvery >= 0 else { throw ConfigError(key: "shift_every", message: "must be 0 (no shift layers) or more, got \(shiftEvery)") }
        guard height % patch == 0, width % patch == 0 else {
            throw ConfigError(key: "patch", message: "\(patch) must divide the image sides \(height) x \(width)")
        }
        guard patch % 2 == 0 || shiftEvery == 0 else {
            throw ConfigError(key: "patch", message: "a shift moves patches by half a patch: \(patch) must be even (or shift_every: 0)")
        }
        guard (height / patch) * (width / patch) >= 2, patch * patch * channels >= 2 else {
            throw ConfigError(key: "patch", message: "\(patch) leaves a mixer matrix of fewer than 2 x 2 entries for \(height) x \(width) x \(channels) images")
        }
    }

    var fields: [String: JSONValue] {
        ["height": .number(Double(height)), "width": .number(Double(width)), "channels": .number(Double(channels)),
         "patch": .number(Double(patch)), "steps": .number(Double(steps)), "shift_every": .number(Double(shiftEvery)),
         "channel_hidden": .number(Double(channelHidden)), "patch_hidden": .number(Double(patchHidden))]
    }
}

extension GlowConfig {
    static let keys: Set<String> = ["height", "width", "channels", "levels", "steps_per_level", "hidden"]

    public init(fields: [String: JSONValue], source: String) throws {
        try refuseUnknown(fields, known: Self.keys, kind: "glow", source: source)
        let reader = ConfigFields(fields: fields, source: source)
        self.init(height: try reader.int("height", default: 28), width: try reader.int("width", default: 28),
                  channels: try reader.int("channels", default: 1))
        levels = try reader.int("levels", default: 2)
        stepsPerLevel = try reader.int("steps_per_level", default: 8)
        hidden = try reader.int("hidden", default: 64)
        try positive(["height": height, "width": width, "channels": channels, "levels": levels, "steps_per_level": stepsPerLevel, "hidden": hidden])
        let side = 1 << levels
        guard height % side == 0, width % side == 0 else {
            throw ConfigError(key: "levels", message: "\(levels) levels each halve the sides: \(height) x \(width) must be multiples of \(side)")
        }
    }

    var fields: [String: JSONValue] {
        ["height": .number(Double(height)), "width": .number(Double(width)), "channels": .number(Double(channels)),
         "levels": .number(Double(levels)), "steps_per_level": .number(Double(stepsPerLevel)), "hidden": .number(Double(hidden))]
    }
}

private func refuseUnknown(_ fields: [String: JSONValue], known: Set<String>, kind: String, source: String) throws {
    if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
        throw ConfigError(key: unknown, message: "unknown \(kind) field in \(source) (known: \(known.sorted().joined(separator: ", ")))")
    }
}

private func positive(_ values: KeyValuePairs<String, Int>) throws {
    for (key, value) in values where value < 1 || value > 1 << 20 {
        throw ConfigError(key: key, message: "must be between 1 and \(1 << 20), got \(value)")
    }
}

/// A flow's tensors under the names of its parameter layout; every one must be there with its shape, no other.
enum FlowWeights {
    static func entries(_ store: ParameterStore) -> [SafeTensors.Entry] {
        store.layout.views.map { .init(name: $0.name, shape: $0.shape, values: store.array($0)) }
    }

    static func load(_ file: SafeTensors, into store: ParameterStore) throws {
        let expected = Dictionary(uniqueKeysWithValues: store.layout.views.map { ($0.name, $0) })
        if let name = file.names.first(where: { expected[$0] == nil }) {
            throw CheckpointError(path: file.source, message: "unexpected tensor '\(name)' for this config")
        }
        for view in store.layout.views {
            guard let tensor = file[view.name] else {
                throw CheckpointError(path: file.source, message: "missing tensor '\(view.name)' (shape \(view.shape))")
            }
            guard tensor.shape == view.shape else {
                throw CheckpointError(path: file.source, message: "tensor '\(view.name)' has shape \(tensor.shape), the config needs \(view.shape)")
            }
            store.set(view, to: try file.floats(view.name))
        }
    }
}
