import BLAS
import Checkpoint
import Foundation
import NN

/// AdamW as torch.optim.AdamW computes it (decoupled weight decay, bias correction), one fused loop over the
/// parameter arena, skipping frozen and non-trainable ranges. The moments share the arena's layout.
/// `@unchecked Sendable`: the threads of one update write disjoint slices of the arena and the moments.
public final class AdamW: @unchecked Sendable {
    public struct Hyperparameters: Codable, Equatable, Sendable {
        public var learningRate: Float
        public var beta1: Float
        public var beta2: Float
        public var epsilon: Float
        public var weightDecay: Float
        public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
                    weightDecay: Float = 0.01) {
            self.learningRate = learningRate
            self.beta1 = beta1
            self.beta2 = beta2
            self.epsilon = epsilon
            self.weightDecay = weightDecay
        }
    }

    public var hyperparameters: Hyperparameters
    /// Steps taken so far (torch's `step` state).
    public private(set) var step = 0
    public let firstMoment: UnsafeMutablePointer<Float>
    public let secondMoment: UnsafeMutablePointer<Float>
    public let count: Int

    public init(parameterCount: Int, hyperparameters: Hyperparameters = .init()) {
        self.hyperparameters = hyperparameters
        count = parameterCount
        firstMoment = .allocate(capacity: max(parameterCount, 1))
        firstMoment.initialize(repeating: 0, count: max(parameterCount, 1))
        secondMoment = .allocate(capacity: max(parameterCount, 1))
        secondMoment.initialize(repeating: 0, count: max(parameterCount, 1))
    }

    deinit {
        firstMoment.deallocate()
        secondMoment.deallocate()
    }

    /// The moments and the step count as safetensors (torch's state names exp_avg and exp_avg_sq, each over
    /// the whole arena, the step in the metadata).
    public func stateData() -> Data {
        SafeTensors.encode([
            .init(name: "exp_avg", shape: [count], values: Array(UnsafeBufferPointer(start: firstMoment, count: count))),
            .init(name: "exp_avg_sq", shape: [count], values: Array(UnsafeBufferPointer(start: secondMoment, count: count))),
        ], metadata: ["format": "pt", "step": String(step)])
    }

    /// Restores what `stateData` wrote; the moments must cover this optimizer's arena.
    public func restore(from file: SafeTensors) throws {
        let first = try file.floats("exp_avg"), second = try file.floats("exp_avg_sq")
        guard first.count == count, second.count == count else {
            throw CheckpointError(path: file.source, message: "optimizer state for \(first.count) parameters, the model has \(count)")
        }
        guard let text = file.metadata["step"], let saved = Int(text), saved >= 0 else {
            throw CheckpointError(path: file.source, message: "optimizer state without a valid step count in its metadata")
        }
        step = saved
        first.withUnsafeBufferPointer { firstMoment.update(from: $0.baseAddress!, count: count) }
        second.withUnsafeBufferPointer { secondMoment.update(from: $0.baseAddress!, count: count) }
    }

    /// One update of every trainable, unfrozen parameter from the gradients in the store, with the learning
    /// rate `learningRate` (a schedule's value) or the configured one, split over `threads` threads (each
    /// parameter's update is independent of the others, so the split does not change a bit).
    ///   p ← p (1 - lr λ);  m ← m + (g - m)(1 - β1);  v ← β2 v + (1 - β2) g²;
    ///   p ← p - (lr / (1 - β1ᵗ)) · m / (√v / √(1 - β2ᵗ) + ε)
    public func update(_ store: ParameterStore, learningRate: Float? = nil, threads: Int = 1) {
        precondition(store.count == count, "AdamW was built for \(count) parameters, the store has \(store.count)")
        step += 1
        let h = hyperparameters
        let lr = learningRate ?? h.learningRate
        let factors = Factors(decay: 1 - lr * h.weightDecay, stepSize: lr / (1 - pow(h.beta1, Float(step))),
                              correction2Root: (1 - pow(h.beta2, Float(step))).squareRoot(), beta2: h.beta2,
                              oneMinusBeta1: 1 - h.beta1, oneMinusBeta2: 1 - h.beta2, epsilon: h.epsilon)
        let ranges = store.trainableRanges
        guard threads > 1 else {
            for range in ranges { update(range, store, factors) }
            return
        }
        let total = store.count
        nonisolated(unsafe) let store = store
        DispatchQueue.concurrentPerform(iterations: threads) { part in
            Subnormals.flushToZero()  // as on the threads that computed the gradients
            let slice = (total * part / threads)..<(total * (part + 1) / threads)
            for range in ranges where range.overlaps(slice) { update(range.clamped(to: slice), store, factors) }
        }
    }

    private struct Factors {
        var decay, stepSize, correction2Root, beta2, oneMinusBeta1, oneMinusBeta2, epsilon: Float
    }

    private func update(_ range: Range<Int>, _ store: ParameterStore, _ f: Factors) {
        let p = store.values, g = store.gradients, m = firstMoment, v = secondMoment
        // Sixteen lanes at a time (the scalar loop was not vectorised: the four pointers may alias), then the
        // tail. Each lane does the scalar loop's operations in the same order, so the results are identical.
        typealias Lanes = SIMD16<Float>
        let width = Lanes.scalarCount
        var i = range.lowerBound
        while i + width <= range.upperBound {
            let gi = UnsafeRawPointer(g + i).loadUnaligned(as: Lanes.self)
            var pi = UnsafeRawPointer(p + i).loadUnaligned(as: Lanes.self) * f.decay
            var mi = UnsafeRawPointer(m + i).loadUnaligned(as: Lanes.self)
            var vi = UnsafeRawPointer(v + i).loadUnaligned(as: Lanes.self)
            mi += (gi - mi) * f.oneMinusBeta1
            vi = vi * f.beta2 + f.oneMinusBeta2 * gi * gi
            let denominator = vi.squareRoot() / f.correction2Root + f.epsilon
            pi -= f.stepSize * (mi / denominator)
            UnsafeMutableRawPointer(p + i).storeBytes(of: pi, as: Lanes.self)
            UnsafeMutableRawPointer(m + i).storeBytes(of: mi, as: Lanes.self)
            UnsafeMutableRawPointer(v + i).storeBytes(of: vi, as: Lanes.self)
            i += width
        }
        for i in i..<range.upperBound {
            p[i] *= f.decay
            m[i] += (g[i] - m[i]) * f.oneMinusBeta1
            v[i] = v[i] * f.beta2 + f.oneMinusBeta2 * g[i] * g[i]
            let denominator = v[i].squareRoot() / f.correction2Root + f.epsilon
            p[i] -= f.stepSize * (m[i] / denominator)
        }
    }
}
