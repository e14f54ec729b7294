import Kernels

/// `Elementwise`'s loops and `ColumnBlocks` compiled for x86-64-v4 with 512-bit vectors (see Package.swift).
/// Call them only where `CPUFeatures` reports AVX-512: NN's `ElementwiseLoops` chooses.
public enum Elementwise512: VectorKernels {
    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.gelu(x, y, count: count)
    }

    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>,
                            count: Int) {
        Elementwise.gelu(x, y, derivative: derivative, count: count)
    }

    public static func gelu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, derivative: UnsafeMutablePointer<Float>,
                            keeping keep: UnsafePointer<UInt8>, scale: Float, count: Int) {
        Elementwise.gelu(x, y, derivative: derivative, keeping: keep, scale: scale, count: count)
    }

    public static func geluBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.geluBackward(dy: dy, x: x, dx: dx, count: count)
    }

    public static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.multiply(a, b, into: out, count: count)
    }

    public static func multiply(_ a: UnsafePointer<Float>, keeping keep: UnsafePointer<UInt8>, scale: Float,
                                into out: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.multiply(a, keeping: keep, scale: scale, into: out, count: count)
    }

    public static func multiply(_ a: UnsafePointer<Float>, keeping keep: UnsafePointer<UInt8>, scale: Float, _ c: UnsafePointer<Float>,
                                into out: UnsafeMutablePointer<Float>, count: Int) {
        Elementwise.multiply(a, keeping: keep, scale: scale, c, into: out, count: count)
    }

    public static func columnGateForward(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
                                         k: Int, columns: Int) {
        ColumnGate.forward(x: x, y: y, s: s, k: k, columns: columns, lanes: SIMD16<Float>.self)
    }

    public static func columnGateBackward(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, s: UnsafePointer<Float>,
                                          dlogits: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, overwriting: Bool,
                                          k: Int, columns: Int) {
        // Eight lanes here too: the backward streams five arrays and sixteen lanes measured no faster (k x columns
        // 32 x 3072: 88 us either way; 8 x 12288: 67 us with eight, 80 with sixteen).
        ColumnGate.backward(dy: dy, x: x, s: s, dlogits: dlogits, dx: dx, overwriting: overwriting, k: k, columns: columns,
                            lanes: SIMD8<Float>.self)
    }

    public static func smallGEMM(m: Int, k: Int, columns: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int,
                                 b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?, accumulate: Bool) {
        ColumnBlocks.multiply(m: m, k: k, columns: columns, a: a, aRow: aRow, aColumn: aColumn, b: b, c: c, bias: bias,
                              accumulate: accumulate, lanes: SIMD16<Float>.self)
    }

    public static func finish(_ finish: PanelGEMM.Finish, _ c: UnsafeMutablePointer<Float>, count: Int) {
        finish.apply(to: c, at: 0, count: count)
    }

    /// Four sixteen-lane vectors per tile row: 24 accumulators of AVX-512's 32 registers.
    public static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, aRow: Int, aColumn: Int, b: UnsafePointer<Float>, bRow: Int,
                            bColumn: Int, c: UnsafeMutablePointer<Float>, ldc: Int, start: PanelGEMM.Start, finish: PanelGEMM.Finish) {
        PanelGEMM.multiply(m: m, n: n, k: k, a: a, aRow: aRow, aColumn: aColumn, b: b, bRow: bRow, bColumn: bColumn, c: c, ldc: ldc,
                           start: start, finish: finish, lanes: SIMD16<Float>.self, maxVectors: 4)
    }
}

extension Elementwise512 {
    /// Sixteen Philox blocks per call, two groups of eight: a group's word w holds its elements 16w..16w+15
    /// (low halves, then high halves), stored as one sixteen-lane vector where a row has room for them.
    public static func fillMask(_ fill: MaskFill) {
        var cursor = MaskCursor(fill)
        var words = (SIMD8<UInt64>(), SIMD8<UInt64>(), SIMD8<UInt64>(), SIMD8<UInt64>(),
                     SIMD8<UInt64>(), SIMD8<UInt64>(), SIMD8<UInt64>(), SIMD8<UInt64>())
        withUnsafeMutableBytes(of: &words) { raw in
            let words = raw.baseAddress!.assumingMemoryBound(to: SIMD8<UInt64>.self)
            var base = 0
            while base < fill.count {
                sixteenBlocks(x: UInt32(truncatingIfNeeded: (fill.first &+ base) >> 3), y: fill.sample, z: fill.step, w: fill.site, key: fill.key,
                              into: words)
                for w in 0..<(base &+ 64 < fill.count ? 8 : 4) { cursor.emit(word: words[w]) }
                base &+= 128
            }
        }
    }

    /// Philox blocks with counters (x + 0...15, y, z, w): the words of blocks x…x+7 and of x+8…x+15, one block
    /// per 64-bit lane (valid in its low 32 bits), as in `Philox.eightBlocks` but a group per 512-bit register;
    /// written to words[0..<4] and words[4..<8]. Not inlined: inlined and unrolled, LLVM split the rounds into
    /// 128-bit multiplies.
    @inline(never)
    static func sixteenBlocks(x: UInt32, y: UInt32, z: UInt32, w: UInt32, key: SIMD2<UInt32>, into words: UnsafeMutablePointer<SIMD8<UInt64>>) {
        typealias Lanes = SIMD8<UInt64>
        let low = Lanes(repeating: 0xFFFF_FFFF)
        var a0 = Lanes(repeating: UInt64(x)) &+ Lanes(0, 1, 2, 3, 4, 5, 6, 7), b0 = a0 &+ 8
        var a1 = Lanes(repeating: UInt64(y)), a2 = Lanes(repeating: UInt64(z)), a3 = Lanes(repeating: UInt64(w))
        var b1 = a1, b2 = a2, b3 = a3
        var k0 = key.x, k1 = key.y
        for _ in 0..<10 {
            let key0 = Lanes(repeating: UInt64(k0)), key1 = Lanes(repeating: UInt64(k1))
            let ap0 = (a0 & low) &* 0xD251_1F53, ap1 = (a2 & low) &* 0xCD9E_8D57
            let bp0 = (b0 & low) &* 0xD251_1F53, bp1 = (b2 & low) &* 0xCD9E_8D57
            (a0, a1, a2, a3) = ((ap1 &>> 32) ^ a1 ^ key0, ap1, (ap0 &>> 32) ^ a3 ^ key1, ap0)
            (b0, b1, b2, b3) = ((bp1 &>> 32) ^ b1 ^ key0, bp1, (bp0 &>> 32) ^ b3 ^ key1, bp0)
            k0 &+= 0x9E37_79B9
            k1 &+= 0xBB67_AE85
        }
        (words[0], words[1], words[2], words[3]) = (a0, a1, a2, a3)
        (words[4], words[5], words[6], words[7]) = (b0, b1, b2, b3)
    }
}

extension MaskCursor {
    /// The next sixteen elements from one Philox word of eight blocks (a block per 64-bit lane): its low
    /// halves, then its high halves. One vector where they lie in one row, else two eight-lane emits.
    @inline(__always)
    mutating func emit(word: SIMD8<UInt64>) {
        let halves = SIMD8<UInt32>(truncatingIfNeeded: word)
        let draws = SIMD16(lowHalf: halves & 0xFFFF, highHalf: halves &>> 16)
        guard fill.count &- emitted >= 16 && column &+ 16 <= fill.rowLength else {
            emit(draws.lowHalf)
            emit(draws.highHalf)
            return
        }
        let dropped = (SIMD16<Int32>(truncatingIfNeeded: draws) &- SIMD16(lowHalf: limit, highHalf: limit)) &>> 31   // all ones where below
        let at = row &* fill.rowStride &+ column
        if let keep = fill.keep {
            UnsafeMutableRawPointer(keep + at).storeBytes(of: SIMD16<UInt8>(truncatingIfNeeded: ~dropped & 1), as: SIMD16<UInt8>.self)
        }
        if let data = fill.data {
            let mask = unsafeBitCast(SIMD16(lowHalf: scaleBits, highHalf: scaleBits) & ~dropped, to: SIMD16<Float>.self)
            let x = UnsafeRawPointer(data.x + at).loadUnaligned(as: SIMD16<Float>.self)
            UnsafeMutableRawPointer(data.y + at).storeBytes(of: x * mask, as: SIMD16<Float>.self)
        }
        column &+= 16
        if column == fill.rowLength { column = 0; row &+= 1 }
    }
}
