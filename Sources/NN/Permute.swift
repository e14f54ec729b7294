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

extension Permute {
    /// y[b, a, :] = x[a, b, :] for x [first, second, width]: rows of `width` move whole (a row copy, not an
    /// element transpose).
    public static func swapLeadingTwo(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, first: Int, second: Int, width: Int) {
        for a in 0..<first {
            for b in 0..<second { (y + (b * first + a) * width).update(from: x + (a * second + b) * width, count: width) }
        }
    }

    /// y[b, a, :] = x[a, b, :] + z[b, a, :]: the swap and a residual add in one pass.
    public static func swapLeadingTwo(_ x: UnsafePointer<Float>, plus z: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>,
                                      first: Int, second: Int, width: Int) {
        for a in 0..<first {
            for b in 0..<second {
                // Row pointers, not y[at + j]: the overflow check on at + j kept that loop scalar.
                let source = x + (a * second + b) * width, at = (b * first + a) * width
                let target = y + at, residual = z + at
                for j in 0..<width { target[j] = source[j] + residual[j] }
            }
        }
    }
}

/// The exchange of the two leading axes of a tensor seen as rows: [first, second, …] → [second, first, …].
public struct LeadingSwap: Sendable, Equatable {
    public let first: Int
    public let second: Int
    public init(first: Int, second: Int) {
        self.first = first
        self.second = second
    }
}

/// The rows that rows 0, 1, 2, … move to under a swap: row (a, b, t) of [first, second, inner] goes to row
/// (b, a, t) of [second, first, inner] (nil moves nothing). One at a time and without a division per row, for
/// loops over the rows that also take them in groups of eight.
struct SwapTargets {
    private let first: Int, second: Int, inner: Int
    private var a = 0, b = 0, t = 0

    init(_ swap: LeadingSwap?, rows: Int) {
        (first, second) = swap.map { ($0.first, $0.second) } ?? (1, 1)
        inner = rows / (first * second)
    }

    /// The target of the next row.
    @inline(__always)
    mutating func next() -> Int {
        let target = (b * first + a) * inner + t
        t += 1
        if t == inner {
            t = 0
            b += 1
            if b == second { b = 0; a += 1 }
        }
        return target
    }

    /// The targets of the next eight rows.
    @inline(__always)
    mutating func nextEight() -> (Int, Int, Int, Int, Int, Int, Int, Int) {
        (next(), next(), next(), next(), next(), next(), next(), next())
    }
}

/// y = x + z (residual connection); its backward passes dy to both branches.
@inline(__always)
public func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { y[i] += x[i] }
}
