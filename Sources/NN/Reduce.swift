/// Sums and maxima of a row with eight independent accumulators, so the loop is vectorised (a single running
/// Float sum keeps the compiler to one lane, since reordering float additions changes the result). The order
/// of additions is fixed: lanes i mod 8, then the eight partial results pairwise.
public enum Reduce {
    @inline(__always)
    public static func sum(_ x: UnsafePointer<Float>, count: Int) -> Float {
        laneSum(count, { loadLanes(x + $0) }, { x[$0] })
    }

    /// Σ (x - c)², for the variance around a mean c.
    @inline(__always)
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count: Int, around c: Float) -> Float {
        let center = SIMD8<Float>(repeating: c)
        return laneSum(count, { let d = loadLanes(x + $0) - center; return d * d }, { let d = x[$0] - c; return d * d })
    }

    /// Σ a·b.
    @inline(__always)
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        laneSum(count, { loadLanes(a + $0) * loadLanes(b + $0) }, { a[$0] * b[$0] })
    }

    /// Σ term(i) for i < count: the terms of whole groups of eight as vectors (`lanes(i)` for i, …, i + 7),
    /// summed lane by lane, then the lanes pairwise (`total`), then the remaining terms one by one.
    @inline(__always)
    private static func laneSum(_ count: Int, _ lanes: (Int) -> SIMD8<Float>, _ term: (Int) -> Float) -> Float {
        // Wrapping index arithmetic: i < count, so it cannot overflow, and the checks cost more than the
        // additions on TTM's rows of 48-192 floats.
        var accumulated = SIMD8<Float>()
        var i = 0
        while i &+ 8 <= count {
            accumulated += lanes(i)
            i &+= 8
        }
        var tail: Float = 0
        while i < count { tail += term(i); i &+= 1 }
        return total(accumulated) + tail
    }

    /// The largest element (count ≥ 1).
    @inline(__always)
    public static func max(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var m = (x[0], x[0], x[0], x[0], x[0], x[0], x[0], x[0])
        var i = 0
        while i + 8 <= count {
            m.0 = Swift.max(m.0, x[i]); m.1 = Swift.max(m.1, x[i + 1]); m.2 = Swift.max(m.2, x[i + 2]); m.3 = Swift.max(m.3, x[i + 3])
            m.4 = Swift.max(m.4, x[i + 4]); m.5 = Swift.max(m.5, x[i + 5]); m.6 = Swift.max(m.6, x[i + 6]); m.7 = Swift.max(m.7, x[i + 7])
            i += 8
        }
        while i < count { m.0 = Swift.max(m.0, x[i]); i += 1 }
        return Swift.max(Swift.max(Swift.max(m.0, m.1), Swift.max(m.2, m.3)), Swift.max(Swift.max(m.4, m.5), Swift.max(m.6, m.7)))
    }

    @inline(__always)
    static func total(_ v: SIMD8<Float>) -> Float {
        ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]))
    }
}

/// Eight floats from `p`, which need not be aligned.
@inline(__always)
func loadLanes(_ p: UnsafePointer<Float>) -> SIMD8<Float> { UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self) }

/// Eight floats to `p`, which need not be aligned.
@inline(__always)
func storeLanes(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) { UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self) }
