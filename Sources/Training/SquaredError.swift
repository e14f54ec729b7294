/// The training loss Σ e² with e = (y - t)·s, where s is the inverse train std of the window's dataset and
/// channel, so that a channel in large units does not drown the others (s = 1 for raw units). Writes
/// ∂(scale·Σ e²)/∂y = 2·scale·e·s into `gradient` and returns Σ e².
/// `inverseStd` holds [windows, channels] values, or one row for every window when `perWindow` is false.
func squaredErrorGradient(prediction y: UnsafePointer<Float>, target t: UnsafePointer<Float>,
                          inverseStd: UnsafePointer<Float>?, perWindow: Bool, windows: Int, horizon: Int, channels: Int,
                          scale: Float, gradient: UnsafeMutablePointer<Float>) -> Double {
    let perFuture = horizon * channels
    var sum = 0.0
    for b in 0..<windows {
        let row = inverseStd.map { $0 + (perWindow ? b * channels : 0) }
        for j in 0..<perFuture {
            let i = b * perFuture + j
            let s: Float = row?[j % channels] ?? 1
            let e = (y[i] - t[i]) * s
            sum += Double(e) * Double(e)
            gradient[i] = 2 * scale * e * s
        }
    }
    return sum
}
