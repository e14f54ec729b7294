import Foundation

/// The learning rate at each step: a pure function of the step, so a resumed run continues exactly.
public struct LearningRateSchedule: Sendable {
    public let peak: Float
    public let warmupSteps: Int
    public let totalSteps: Int
    public let kind: RunConfig.Schedule

    public init(peak: Float, warmupSteps: Int, totalSteps: Int, kind: RunConfig.Schedule) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = max(totalSteps, 1)
        self.kind = kind
    }

    /// The rate used by step `step` (0-based).
    public func rate(at step: Int) -> Float {
        switch kind {
        case .constant:
            return warmupSteps > 0 && step < warmupSteps ? peak * Float(step + 1) / Float(warmupSteps) : peak
        case .cosine:
            // Linear warm-up to the peak, then cosine decay to zero at the last step.
            if warmupSteps > 0 && step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
            let span = max(totalSteps - warmupSteps, 1)
            let progress = min(Float(step - warmupSteps) / Float(span), 1)
            return peak * 0.5 * (1 + cos(.pi * progress))
        case .oneCycle:
            // torch's OneCycleLR with cosine annealing: from peak/25 up to the peak over the warm-up (30% of
            // the run when no warm-up is given), then down to peak/(25·10⁴).
            let up = warmupSteps > 0 ? warmupSteps : max(1, Int(0.3 * Float(totalSteps)))
            let start = peak / 25, end = peak / 25 / 1e4
            if step < up {
                let t = Float(step) / Float(up)
                return start + (peak - start) * 0.5 * (1 - cos(.pi * t))
            }
            let t = min(Float(step - up) / Float(max(totalSteps - up - 1, 1)), 1)
            return end + (peak - end) * 0.5 * (1 + cos(.pi * t))
        }
    }
}
