/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a counter-based
/// generator, so a random number is a pure function of (key, counter) with no state to carry between calls.
/// That is what makes a dropout mask depend only on (seed, step, sample, site), never on how a batch is
/// split across ranks or threads.
public enum Philox {
    /// Ten rounds of the Philox4x32 bijection of `counter` under `key`.
    @inline(__always)
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter
        var k = key
        for _ in 0..<10 {
            let p0 = UInt64(0xD251_1F53) &* UInt64(c.x)
            let p1 = UInt64(0xCD9E_8D57) &* UInt64(c.z)
            c = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ c.y ^ k.x, UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ c.w ^ k.y, UInt32(truncatingIfNeeded: p0))
            k &+= SIMD2(0x9E37_79B9, 0xBB67_AE85)
        }
        return c
    }

    /// A uniform Float in [0, 1) from the top 24 bits of a word (every value exactly representable).
    @inline(__always)
    public static func unitFloat(_ word: UInt32) -> Float { Float(word >> 8) * (1.0 / 16_777_216.0) }
}

/// The coordinates that name one stream of random numbers.
public struct RandomStream: Sendable, Hashable {
    public var seed: UInt64
    public var step: UInt32
    /// Which use inside the model (each dropout layer has its own site).
    public var site: UInt32

    public init(seed: UInt64, step: UInt32 = 0, site: UInt32 = 0) {
        self.seed = seed
        self.step = step
        self.site = site
    }

    var key: SIMD2<UInt32> { SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)) }

    /// The uniform number for element `element` of global sample `sample`.
    @inline(__always)
    public func uniform(sample: Int, element: Int) -> Float {
        let block = Philox.block(
            counter: SIMD4(UInt32(truncatingIfNeeded: element >> 2), UInt32(truncatingIfNeeded: sample), step, site),
            key: key)
        return Philox.unitFloat(block[element & 3])
    }

    /// Fills `out[0..<count]` with uniforms in [0, 1) for elements 0..<count of global sample `sample`,
    /// four per Philox block.
    public func fillUniform(sample: Int, count: Int, into out: UnsafeMutablePointer<Float>) {
        var element = 0
        while element < count {
            let block = Philox.block(
                counter: SIMD4(UInt32(truncatingIfNeeded: element >> 2), UInt32(truncatingIfNeeded: sample), step, site),
                key: key)
            for lane in 0..<min(4, count - element) { out[element + lane] = Philox.unitFloat(block[lane]) }
            element += 4
        }
    }
}
