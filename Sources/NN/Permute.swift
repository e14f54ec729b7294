/// Batched transposes: x [batch, rows, cols] ↔ y [batch, cols, rows]. Their backward is the opposite
/// transpose, added into the input gradient.
public enum Permute {
    /// y[b, c, r] = x[b, r, c]
    public static func swapLastTwo(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, batch: Int, rows: Int, cols: Int) {
        let block = rows * cols
        for b in 0..<batch {
            let xb = x + b * block, yb = y + b * block
            for r in 0..<rows { for c in 0..<cols { yb[c * rows + r] = xb[r * cols + c] } }
        }
    }

    /// y[b, c, r] = x[b, r, c] + z[b, c, r]: the transpose and a residual add in one pass.
    public static func swapLastTwo(_ x: UnsafePointer<Float>, plus z: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                   batch: Int, rows: Int, cols: Int) {
        let block = rows * cols
        for b in 0..<batch {
            let xb = x + b * block, yb = y + b * block, zb = z + b * block
            for r in 0..<rows { for c in 0..<cols { yb[c * rows + r] = xb[r * cols + c] + zb[c * rows + r] } }
        }
    }

    /// dx[b, r, c] += dy[b, c, r]: the backward of `swapLastTwo`.
    public static func swapLastTwoAdding(_ dy: UnsafePointer<Float>, into dx: UnsafeMutablePointer<Float>,
                                         batch: Int, rows: Int, cols: Int) {
        let block = rows * cols
        for b in 0..<batch {
            let dyb = dy + b * block, dxb = dx + b * block
            for r in 0..<rows { for c in 0..<cols { dxb[r * cols + c] += dyb[c * rows + r] } }
        }
    }
}

/// y = x + z (residual connection); its backward passes dy to both branches.
@inline(__always)
public func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += x[i] }
}
