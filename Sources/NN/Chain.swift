/// Backward through layers applied one after another: the last layer first, each passing its input gradient to
/// the one before through two alternating scratch buffers (so no layer writes the gradient it reads); the first
/// layer adds into `dx`, or writes it with `overwritingInput`. `backward(index, dy, dx, overwriting)` runs layer
/// `index`'s backward, writing its dx when `overwriting` and adding into it otherwise: the scratch buffers are
/// handed over with `overwriting` true and never zeroed, so a layer that cannot write must zero dx itself.
public struct ChainGradients {
    private let buffers = (FloatBuffer(), FloatBuffer())

    public init() {}

    public func backward(layers: Int, count: Int, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, overwritingInput: Bool = false,
                         _ backward: (Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>?, Bool) -> Void) {
        guard layers > 0 else {  // no layers: the identity
            if let dx { if overwritingInput { dx.update(from: dy, count: count) } else { addInPlace(dx, dy, count: count) } }
            return
        }
        var upstream = dy
        for index in stride(from: layers - 1, through: 0, by: -1) {
            if index == 0 {
                backward(0, upstream, dx, overwritingInput)
            } else {
                let target = (index % 2 == 0 ? buffers.0 : buffers.1).reserve(count)
                backward(index, upstream, target, true)
                upstream = UnsafePointer(target)
            }
        }
    }
}
