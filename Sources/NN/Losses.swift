/// Mean losses over all elements, and their gradients with respect to the prediction.
public enum Loss: String, Codable, Sendable {
    case mse, mae

    /// The mean of (y - t)² or |y - t| over `count` elements, accumulated in Double.
    public func value(prediction y: UnsafePointer<Float>, target t: UnsafePointer<Float>, count: Int) -> Double {
        var sum = 0.0
        switch self {
        case .mse: for i in 0..<count { let d = Double(y[i] - t[i]); sum += d * d }
        case .mae: for i in 0..<count { sum += Double(abs(y[i] - t[i])) }
        }
        return sum / Double(count)
    }

    /// dy = ∂loss/∂y · scale: 2 (y - t)/n for MSE, sign(y - t)/n for MAE (0 where y = t, as torch).
    public func gradient(prediction y: UnsafePointer<Float>, target t: UnsafePointer<Float>,
                         into dy: UnsafeMutablePointer<Float>, count: Int, scale: Float = 1) {
        let k = scale / Float(count)
        switch self {
        case .mse: for i in 0..<count { dy[i] = 2 * (y[i] - t[i]) * k }
        case .mae:
            for i in 0..<count {
                let d = y[i] - t[i]
                dy[i] = d > 0 ? k : (d < 0 ? -k : 0)
            }
        }
    }
}
