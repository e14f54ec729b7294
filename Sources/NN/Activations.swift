import Foundation

/// Elementwise activations: forward y = f(x), backward dx += dy · f'(x) from the saved input.
public enum Activation: String, Codable, Sendable {
    case relu, gelu

    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu:
            for i in 0..<count { y[i] = max(x[i], 0) }
        case .gelu:
            // Exact GELU: x Φ(x) = x/2 (1 + erf(x/√2)), as torch.nn.GELU() and granite-tsfm use.
            ElementwiseLoops.kernels.gelu(x, y, count: count)
        }
    }

    /// y = f(x), and f'(x) into `derivative` for a backward that then needs no second pass over the function
    /// (for GELU that saves an erf per element: the derivative needs Φ, which the forward computes anyway).
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu:
            for i in 0..<count { y[i] = max(x[i], 0); derivative[i] = x[i] > 0 ? 1 : 0 }
        case .gelu:
            ElementwiseLoops.kernels.gelu(x, y, derivative: derivative, count: count)
        }
    }

    public func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu:
            // The derivative at 0 is taken as 0, as in Keras/JAX and PyTorch.
            for i in 0..<count where x[i] > 0 { dx[i] += dy[i] }
        case .gelu:
            // d/dx x Φ(x) = Φ(x) + x φ(x), φ the standard normal density.
            ElementwiseLoops.kernels.geluBackward(dy: dy, x: x, dx: dx, count: count)
        }
    }
}
