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
            for i in 0..<count { y[i] = x[i] * Self.normalCDF(x[i]) }
        }
    }

    /// y = f(x), and f'(x) into `derivative` for a backward that then needs no second pass over the function
    /// (for GELU that saves an erf per element: the derivative needs Φ, which the forward computes anyway).
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu:
            for i in 0..<count { y[i] = max(x[i], 0); derivative[i] = x[i] > 0 ? 1 : 0 }
        case .gelu:
            for i in 0..<count {
                let v = x[i], cdf = Self.normalCDF(v)
                y[i] = v * cdf
                derivative[i] = cdf + v * Self.normalDensity(v)
            }
        }
    }

    public func backward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu:
            // The derivative at 0 is taken as 0, as in Keras/JAX and PyTorch.
            for i in 0..<count where x[i] > 0 { dx[i] += dy[i] }
        case .gelu:
            // d/dx x Φ(x) = Φ(x) + x φ(x), φ the standard normal density.
            for i in 0..<count {
                let v = x[i]
                dx[i] += dy[i] * (Self.normalCDF(v) + v * Self.normalDensity(v))
            }
        }
    }

    /// Φ(v) = (1 + erf(v/√2)) / 2, the standard normal distribution function.
    @inline(__always)
    static func normalCDF(_ v: Float) -> Float { 0.5 * (1 + VectorMath.erf(v * 0.707_106_781_186_547_5)) }

    /// φ(v) = exp(-v²/2) / √(2π), the standard normal density.
    @inline(__always)
    static func normalDensity(_ v: Float) -> Float { 0.398_942_280_401_432_7 * VectorMath.exp(-0.5 * v * v) }
}
