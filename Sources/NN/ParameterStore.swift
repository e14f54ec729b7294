/// Where one named tensor lives in the flat parameter buffer.
public struct ParameterView: Sendable, Hashable {
    public let name: String
    public let shape: [Int]
    public let offset: Int
    public var count: Int { shape.reduce(1, *) }
    /// False for state that is saved with the weights but never trained (BatchNorm moving statistics).
    public let trainable: Bool
    public var range: Range<Int> { offset..<(offset + count) }
}

/// How a model's tensors are laid out: built once while the model declares its parameters.
public struct ParameterLayout: Sendable {
    public private(set) var views: [ParameterView] = []
    public private(set) var count = 0
    private var indexByName: [String: Int] = [:]
    private var randomSites: UInt32 = 0

    public init() {}

    /// A number unique within this model, naming one consumer of random numbers (a dropout layer).
    public mutating func nextRandomSite() -> UInt32 {
        randomSites += 1
        return randomSites
    }

    /// Appends a tensor; names must be unique.
    public mutating func add(_ name: String, shape: [Int], trainable: Bool = true) -> ParameterView {
        precondition(indexByName[name] == nil, "parameter '\(name)' declared twice")
        precondition(shape.allSatisfy { $0 > 0 }, "parameter '\(name)' has an empty shape \(shape)")
        let view = ParameterView(name: name, shape: shape, offset: count, trainable: trainable)
        indexByName[name] = views.count
        views.append(view)
        count += view.count
        return view
    }

    public subscript(name: String) -> ParameterView? { indexByName[name].map { views[$0] } }
}

/// All of a model's parameters in one contiguous Float buffer, and their gradients in a second buffer with the
/// same layout (the llm.c arrangement): the gradient all-reduce is one call, the optimizer one loop, a
/// checkpoint the buffer plus the table of views.
public final class ParameterStore {
    public let layout: ParameterLayout
    public let values: UnsafeMutablePointer<Float>
    public let gradients: UnsafeMutablePointer<Float>
    public var count: Int { layout.count }
    /// Offsets of trainable tensors that are frozen: no gradient is computed and the optimizer skips them.
    public private(set) var frozenOffsets: Set<Int> = []
    /// Offset ranges the optimizer updates: trainable and not frozen, adjacent tensors merged. Kept up to
    /// date by `setFrozen`, so the training step reads it without building it.
    public private(set) var trainableRanges: [Range<Int>] = []

    /// Whether `values` belongs to this store (false for a replica that reads another store's values).
    private let ownsValues: Bool

    public init(layout: ParameterLayout) {
        self.layout = layout
        let n = max(layout.count, 1)
        values = .allocate(capacity: n)
        values.initialize(repeating: 0, count: n)
        gradients = .allocate(capacity: n)
        gradients.initialize(repeating: 0, count: n)
        ownsValues = true
        trainableRanges = computeTrainableRanges()
    }

    /// A replica for another thread: it reads `other`'s parameter values (same buffer, so every update is seen)
    /// and accumulates into a gradient arena of its own; frozen tensors as in `other`. `other` must outlive it.
    public init(sharingValuesOf other: ParameterStore) {
        layout = other.layout
        values = other.values
        let n = max(layout.count, 1)
        gradients = .allocate(capacity: n)
        gradients.initialize(repeating: 0, count: n)
        ownsValues = false
        frozenOffsets = other.frozenOffsets
        trainableRanges = other.trainableRanges
    }

    deinit {
        if ownsValues { values.deallocate() }
        gradients.deallocate()
    }

    public func value(_ view: ParameterView) -> UnsafeMutablePointer<Float> { values + view.offset }
    public func gradient(_ view: ParameterView) -> UnsafeMutablePointer<Float> { gradients + view.offset }

    /// Whether backward should compute this tensor's gradient.
    @inline(__always)
    public func needsGradient(_ view: ParameterView) -> Bool {
        view.trainable && (frozenOffsets.isEmpty || !frozenOffsets.contains(view.offset))
    }

    /// Where backward accumulates this tensor's gradient, or nil when it needs none (frozen, not trainable).
    @inline(__always)
    public func gradientIfNeeded(_ view: ParameterView) -> UnsafeMutablePointer<Float>? {
        needsGradient(view) ? gradient(view) : nil
    }

    /// Freezes (or unfreezes) every trainable tensor whose name starts with `prefix`.
    public func setFrozen(_ isFrozen: Bool, prefix: String) {
        for view in layout.views where view.trainable && view.name.hasPrefix(prefix) {
            if isFrozen { frozenOffsets.insert(view.offset) } else { frozenOffsets.remove(view.offset) }
        }
        trainableRanges = computeTrainableRanges()
    }

    private func computeTrainableRanges() -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        for view in layout.views where needsGradient(view) {
            if let last = ranges.last, last.upperBound == view.offset {
                ranges[ranges.count - 1] = last.lowerBound..<view.range.upperBound
            } else {
                ranges.append(view.range)
            }
        }
        return ranges
    }

    /// Copies every tensor of `source` whose name and shape match one of this store's; returns the names of
    /// this store's tensors that got nothing (left as they were).
    @discardableResult
    public func copyMatching(from source: ParameterStore) -> [String] {
        var missing: [String] = []
        for view in layout.views {
            if let other = source.layout[view.name], other.shape == view.shape {
                value(view).update(from: source.value(other), count: view.count)
            } else {
                missing.append(view.name)
            }
        }
        return missing
    }

    public func zeroGradients() { gradients.update(repeating: 0, count: max(count, 1)) }

    public func set(_ view: ParameterView, to data: [Float]) {
        precondition(data.count == view.count, "\(view.name): \(data.count) values for shape \(view.shape)")
        data.withUnsafeBufferPointer { value(view).update(from: $0.baseAddress!, count: view.count) }
    }

    public func array(_ view: ParameterView) -> [Float] {
        Array(UnsafeBufferPointer(start: value(view), count: view.count))
    }

    public func gradientArray(_ view: ParameterView) -> [Float] {
        Array(UnsafeBufferPointer(start: gradient(view), count: view.count))
    }
}
