/// Whether a forward pass trains (batch statistics, dropout drawn from `dropout`) or infers.
public enum ForwardMode: Sendable {
    case inference
    case training(Dropout.Context)

    public var isTraining: Bool { if case .training = self { true } else { false } }
    public var dropoutContext: Dropout.Context? { if case .training(let c) = self { c } else { nil } }
}

extension ParameterLayout {
    /// A fresh dropout site: every dropout layer of a model draws from its own stream.
    public mutating func newDropout(rate: Float) -> Dropout {
        Dropout(rate: rate, site: nextRandomSite())
    }
}
