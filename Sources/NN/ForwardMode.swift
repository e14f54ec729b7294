/// Whether a forward pass trains (batch statistics, dropout drawn from the context) or infers.
public enum ForwardMode: Sendable {
    case inference
    /// `statistics` sums batch statistics over the ranks that share a global batch (synchronised BatchNorm);
    /// nil when this process holds the whole batch. `backward` false: nothing will be differentiated through
    /// this pass (a frozen backbone), so layers keep no state for a backward.
    case training(Dropout.Context, statistics: (any BatchStatisticsReducer)? = nil, backward: Bool = true)

    public var isTraining: Bool { if case .training = self { true } else { false } }
    public var dropoutContext: Dropout.Context? { if case .training(let c, _, _) = self { c } else { nil } }
    public var statisticsReducer: (any BatchStatisticsReducer)? { if case .training(_, let r, _) = self { r } else { nil } }
    /// Whether a backward through this pass will follow (training with gradients).
    public var needsBackward: Bool { if case .training(_, _, let backward) = self { backward } else { false } }
    /// The same pass for layers whose output will not be differentiated (frozen ones): dropout and batch
    /// statistics as before, no state kept for a backward.
    public var withoutBackward: ForwardMode {
        if case .training(let c, let r, _) = self { .training(c, statistics: r, backward: false) } else { self }
    }
}

/// Sums per-feature batch statistics across the processes that each hold part of a global batch, so that a
/// layer normalising over the batch (BatchNorm) computes what one process holding the whole batch would.
public protocol BatchStatisticsReducer: AnyObject, Sendable {
    /// Replaces `values[0..<count]` with its elementwise sum over all processes.
    func sum(_ values: UnsafeMutablePointer<Float>, count: Int)
}

extension ParameterLayout {
    /// A fresh dropout site: every dropout layer of a model draws from its own stream.
    public mutating func newDropout(rate: Float) -> Dropout {
        Dropout(rate: rate, site: nextRandomSite())
    }
}
