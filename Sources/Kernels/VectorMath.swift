/// Elementwise erf and exp written for loops the compiler vectorises: only arithmetic, min/max and bit
/// operations, no calls and no traps (libm's scalar `erff` and `expf` were a fifth of a TTM training step and
/// keep a loop scalar). Accuracy against the exact functions over their whole float range: `erf` within 3.7e-7
/// absolute (about 6 ulp near ±1; it rounds to ±1 beyond ±3.92), `exp` within 2 ulp.
public enum VectorMath {
    /// Whether the numeric modules were compiled for x86-64-v3 (AVX2, FMA; see Package.swift), so that `ttm`
    /// can refuse a CPU without them in words rather than by an illegal instruction.
    #if TTM_X86_64_V3
    public static let needsAVX2 = true
    #else
    public static let needsAVX2 = false
    #endif

    /// erf(x) = x·P(x²)/Q(x²) on |x| ≤ 3.92, ±1 beyond. The coefficients are a rational least-squares fit to
    /// erf(x)/x made for this project (iteratively reweighted for the absolute error of erf, degrees 6 and 5 in x²).
    @inlinable @inline(__always)
    public static func erf(_ x: Float) -> Float {
        let c = Swift.min(Swift.max(x, -3.92), 3.92)
        let t = c * c
        var p: Float = -1.3258391717840823e-08
        p = Float(4.704198545368854e-06).addingProduct(p, t)
        p = Float(0.000379840872483328).addingProduct(p, t)
        p = Float(0.003828936256468296).addingProduct(p, t)
        p = Float(0.05426047742366791).addingProduct(p, t)
        p = Float(0.18465089797973633).addingProduct(p, t)
        p = Float(1.128379225730896).addingProduct(p, t)
        var q: Float = 6.32927258266136e-05
        q = Float(0.0013036306481808424).addingProduct(q, t)
        q = Float(0.015422120690345764).addingProduct(q, t)
        q = Float(0.11374489217996597).addingProduct(q, t)
        q = Float(0.4969761371612549).addingProduct(q, t)
        q = Float(1).addingProduct(q, t)
        return Swift.min(Swift.max(c * p / q, -1), 1)
    }

    /// eˣ = 2ᵏ·eʳ with k = round(x/ln 2) and r = x - k·ln 2 (ln 2 split in two so k·ln2_hi is exact), eʳ by its
    /// Taylor series to r⁷ (|r| ≤ ln2/2, so the truncation is below 1e-8 relative). Adding 1.5·2²³ rounds
    /// x/ln 2 to an integer held in the low mantissa bits, from which 2ᵏ is built in the exponent bits. x is
    /// clamped to [-87.3, 88.3], where 2ᵏ stays a normal float.
    @inlinable @inline(__always)
    public static func exp(_ x: Float) -> Float {
        let v = Swift.min(Swift.max(x, -87.3), 88.3)
        let shifted = v * 1.442_695_04 + 12_582_912
        let k = shifted - 12_582_912
        let r = v - k * 0.693145751953125 - k * 1.4286068203094172e-06
        var p: Float = 1.0 / 5040
        p = Float(1.0 / 720).addingProduct(p, r)
        p = Float(1.0 / 120).addingProduct(p, r)
        p = Float(1.0 / 24).addingProduct(p, r)
        p = Float(1.0 / 6).addingProduct(p, r)
        p = Float(0.5).addingProduct(p, r)
        p = Float(1).addingProduct(p, r)
        p = Float(1).addingProduct(p, r)
        let exponent = (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23
        return p * Float(bitPattern: exponent)
    }

    /// `exp` on eight lanes at once, the same operations in the same order per lane (so the same bits), for rows
    /// too short for the compiler's vectorised loop to pay off (TTM's softmax gates over 8-32 patches). A
    /// concrete function, so that a debug build of NN calls this module's optimised code rather than running
    /// the generic one unspecialised (that made a debug zero-shot evaluation five times slower).
    @inlinable @inline(__always)
    public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> { exp(lanes: x) }

    /// `exp` on a vector of lanes (eight or sixteen: the gate's columns in Kernels' two builds).
    @inlinable @inline(__always)
    public static func exp<Lanes: FloatLanes>(lanes x: Lanes) -> Lanes {
        let v = Lanes.lanewiseMin(Lanes.lanewiseMax(x, Lanes(repeating: -87.3)), Lanes(repeating: 88.3))
        let shifted = v * 1.442_695_04 + 12_582_912
        let k = shifted - 12_582_912
        let r = v - k * 0.693145751953125 - k * 1.4286068203094172e-06
        var p = Lanes(repeating: 1.0 / 5040)
        p = Lanes(repeating: 1.0 / 720).addingProduct(p, r)
        p = Lanes(repeating: 1.0 / 120).addingProduct(p, r)
        p = Lanes(repeating: 1.0 / 24).addingProduct(p, r)
        p = Lanes(repeating: 1.0 / 6).addingProduct(p, r)
        p = Lanes(repeating: 0.5).addingProduct(p, r)
        p = Lanes(repeating: 1).addingProduct(p, r)
        p = Lanes(repeating: 1).addingProduct(p, r)
        let exponent = (unsafeBitCast(shifted, to: Lanes.Bits.self) &- 0x4B40_0000 &+ 127) &<< 23
        return p * unsafeBitCast(exponent, to: Lanes.self)
    }

    /// Swift.max lane by lane. The standard library's pointwiseMax (and `clamped`, built on it) stays an
    /// out-of-line generic call here (10% of an inference step in perf); eight scalar maxima in one expression
    /// are inlined and vectorised.
    @inlinable @inline(__always)
    public static func lanewiseMax(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(Swift.max(a[0], b[0]), Swift.max(a[1], b[1]), Swift.max(a[2], b[2]), Swift.max(a[3], b[3]),
              Swift.max(a[4], b[4]), Swift.max(a[5], b[5]), Swift.max(a[6], b[6]), Swift.max(a[7], b[7]))
    }

    /// Swift.min lane by lane (see `lanewiseMax`).
    @inlinable @inline(__always)
    public static func lanewiseMin(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float> {
        SIMD8(Swift.min(a[0], b[0]), Swift.min(a[1], b[1]), Swift.min(a[2], b[2]), Swift.min(a[3], b[3]),
              Swift.min(a[4], b[4]), Swift.min(a[5], b[5]), Swift.min(a[6], b[6]), Swift.min(a[7], b[7]))
    }
}

/// A vector of Float lanes that VectorMath's lane functions take: eight (the numeric modules' build) or sixteen
/// (KernelsAVX512). Each lane gets the operations of the scalar code, so the width never changes a result.
public protocol FloatLanes: SIMD where Scalar == Float {
    /// The same lanes as UInt32 bit patterns.
    associatedtype Bits: SIMD where Bits.Scalar == UInt32
    /// Swift.max lane by lane, written out so that it is inlined and vectorised (see `VectorMath.lanewiseMax`).
    static func lanewiseMax(_ a: Self, _ b: Self) -> Self
    static func lanewiseMin(_ a: Self, _ b: Self) -> Self
}

extension SIMD8: FloatLanes where Scalar == Float {
    public typealias Bits = SIMD8<UInt32>
    @inlinable @inline(__always)
    public static func lanewiseMax(_ a: Self, _ b: Self) -> Self { VectorMath.lanewiseMax(a, b) }
    @inlinable @inline(__always)
    public static func lanewiseMin(_ a: Self, _ b: Self) -> Self { VectorMath.lanewiseMin(a, b) }
}

extension SIMD16: FloatLanes where Scalar == Float {
    public typealias Bits = SIMD16<UInt32>
    @inlinable @inline(__always)
    public static func lanewiseMax(_ a: Self, _ b: Self) -> Self {
        Self(lowHalf: VectorMath.lanewiseMax(a.lowHalf, b.lowHalf), highHalf: VectorMath.lanewiseMax(a.highHalf, b.highHalf))
    }
    @inlinable @inline(__always)
    public static func lanewiseMin(_ a: Self, _ b: Self) -> Self {
        Self(lowHalf: VectorMath.lanewiseMin(a.lowHalf, b.lowHalf), highHalf: VectorMath.lanewiseMin(a.highHalf, b.highHalf))
    }
}
