/// Whether a forward pass trains (batch statistics, dropout drawn from the context) or infers.
public enum ForwardMode: Sendable {
    case inference
    /// `statistics` sums batch statistics over the ranks that share a global batch (synchronised BatchNorm);
    /// nil when this process holds the whole batch.
    case training(Dropout.Context, statistics: (any BatchStatisticsReducer)? = nil)

    public var isTraining: Bool { if case .training = self { true } else { false } }
    public var dropoutContext: Dropout.Context? { if case .training(let c, _) = self { c } else { nil } }
    public var statisticsReducer: (any BatchStatisticsReducer)? { if case .training(_, let r) = self { r } else { nil } }
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
