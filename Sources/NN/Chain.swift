/// Backward through layers applied one after another: the last layer first, each passing its input gradient to
/// the one before through two alternating scratch buffers (so no layer writes the gradient it reads).
/// `backward(index, dy, dx)` runs layer `index`'s backward. The layers either all add into their dx (the chain
/// zeroes its scratch buffers for them, and the first layer adds into `dx`) or, with `layersWrite`, all write it
/// (nothing is zeroed, and `dx` is written).
public struct ChainGradients {
    private let buffers = (FloatBuffer(), FloatBuffer())

    public init() {}

    public func backward(layers: Int, count: Int, dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, layersWrite: Bool = false,
                         _ backward: (Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>?) -> Void) {
        guard layers > 0 else {  // no layers: the identity
            if let dx { if layersWrite { dx.update(from: dy, count: count) } else { addInPlace(dx, dy, count: count) } }
            return
        }
        var upstream = dy
        for index in stride(from: layers - 1, through: 0, by: -1) {
            if index == 0 {
                backward(0, upstream, dx)
            } else {
                let target = (index % 2 == 0 ? buffers.0 : buffers.1).reserve(count)
                if !layersWrite { target.update(repeating: 0, count: count) }
                backward(index, upstream, target)
                upstream = UnsafePointer(target)
            }
        }
    }
}
