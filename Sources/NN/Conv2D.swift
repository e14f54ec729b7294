/// A 2-D convolution with "same" zero padding and stride 1 on channels-last images [batch, height, width, in],
/// computed as one GEMM: each pixel's k × k neighbourhood is copied into a row of a column matrix (im2col,
/// [pixels, k·k·in]), which a Linear layer (weight [out, k·k·in], bias [out]) maps to [pixels, out].
/// Backward runs the Linear backward and adds each column gradient back onto the pixel it came from (col2im).
public final class Conv2D {
    public let height: Int, width: Int, inChannels: Int, outChannels: Int, kernel: Int
    public let linear: Linear
    private let columns = FloatBuffer(), gradColumns = FloatBuffer()

    public init(_ name: String, height: Int, width: Int, in inChannels: Int, out outChannels: Int, kernel: Int,
                layout: inout ParameterLayout) {
        precondition(kernel % 2 == 1, "an odd kernel keeps 'same' padding symmetric")
        self.height = height
        self.width = width
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.kernel = kernel
        linear = Linear(name, in: kernel * kernel * inChannels, out: outChannels, layout: &layout)
    }

    /// Visits every (pixel row of the column matrix, offset in it, source pixel index or nil outside the image).
    @inline(__always)
    private func forEachTap(batch: Int, _ body: (_ column: Int, _ source: Int?) -> Void) {
        let k = kernel, half = kernel / 2, c = inChannels
        for b in 0..<batch {
            for i in 0..<height {
                for j in 0..<width {
                    let row = ((b * height + i) * width + j) * k * k * c
                    for di in 0..<k {
                        for dj in 0..<k {
                            let si = i + di - half, sj = j + dj - half
                            let inside = si >= 0 && si < height && sj >= 0 && sj < width
                            body(row + (di * k + dj) * c, inside ? ((b * height + si) * width + sj) * c : nil)
                        }
                    }
                }
            }
        }
    }

    /// y [batch, height, width, out] from x [batch, height, width, in].
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, _ p: ParameterStore) {
        let c = inChannels, pixels = batch * height * width
        let cols = columns.reserve(pixels * kernel * kernel * c)
        forEachTap(batch: batch) { column, source in
            if let source { (cols + column).update(from: x + source, count: c) } else { (cols + column).update(repeating: 0, count: c) }
        }
        linear.forward(cols, y, rows: pixels, p)
    }

    /// dx = ∂⟨dy, y⟩/∂x (written, not added) when dx is given; weight and bias gradients accumulate.
    public func backward(dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, batch: Int, _ p: ParameterStore) {
        let c = inChannels, pixels = batch * height * width
        guard let dx else {
            linear.backward(dy: dy, x: columns.pointer, dx: nil, rows: pixels, p)
            return
        }
        let dCols = gradColumns.reserve(pixels * kernel * kernel * c)
        linear.backward(dy: dy, x: columns.pointer, dx: dCols, rows: pixels, p, overwritingInput: true)
        dx.update(repeating: 0, count: pixels * c)
        forEachTap(batch: batch) { column, source in
            guard let source else { return }
            for k in 0..<c { dx[source + k] += dCols[column + k] }
        }
    }
}
