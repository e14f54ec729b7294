/// NN's gate along the leading axis (SoftmaxGateOnColumns.swift) after its projection: s [k, columns] holds the
/// logits, softmax runs down each column, y = x ⊙ s. The columns are independent and each goes through the
/// same operations in the same order whichever vector carries it, so the code is written once for any vector
/// width (`FloatLanes`): Kernels builds it with eight lanes, KernelsAVX512 with sixteen, with the same bits.
public enum ColumnGate {
    /// The forward, in blocks of four vectors of `Lanes` down all the rows (the running maxima and sums stay in
    /// registers), then single eight-lane vectors, then single columns.
    @inlinable @inline(__always)
    public static func forward<Lanes: FloatLanes>(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
                                                  k: Int, columns: Int, lanes: Lanes.Type) {
        var c = 0
        while c &+ 4 &* Lanes.scalarCount <= columns {
            forwardBlock(c, x: x, y: y, s: s, k: k, columns: columns, Lanes.self)
            c &+= 4 &* Lanes.scalarCount
        }
        while c &+ 8 <= columns {
            forwardVector(c, x: x, y: y, s: s, k: k, columns: columns, SIMD8<Float>.self)
            c &+= 8
        }
        for column in c..<columns {  // the same operations one lane at a time
            var top = s[column]
            for r in 1..<k { top = Swift.max(top, s[r &* columns &+ column]) }
            var sum: Float = 0
            for r in 0..<k {
                let e = VectorMath.exp(s[r &* columns &+ column] - top)
                s[r &* columns &+ column] = e
                sum += e
            }
            let inverse = 1 / sum
            for r in 0..<k {
                let at = r &* columns &+ column
                s[at] *= inverse
                y[at] = x[at] * s[at]
            }
        }
    }

    @inlinable @inline(__always)
    static func forwardBlock<V: FloatLanes>(_ c: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
                                            k: Int, columns: Int, _: V.Type) {
        let w = V.scalarCount
        var t0 = load(V.self, s, c), t1 = load(V.self, s, c &+ w), t2 = load(V.self, s, c &+ 2 &* w), t3 = load(V.self, s, c &+ 3 &* w)
        for r in 1..<k {
            let at = r &* columns &+ c
            t0 = V.lanewiseMax(t0, load(V.self, s, at)); t1 = V.lanewiseMax(t1, load(V.self, s, at &+ w))
            t2 = V.lanewiseMax(t2, load(V.self, s, at &+ 2 &* w)); t3 = V.lanewiseMax(t3, load(V.self, s, at &+ 3 &* w))
        }
        var s0 = V(), s1 = V(), s2 = V(), s3 = V()
        for r in 0..<k {
            let at = r &* columns &+ c
            let e0 = VectorMath.exp(lanes: load(V.self, s, at) - t0), e1 = VectorMath.exp(lanes: load(V.self, s, at &+ w) - t1)
            let e2 = VectorMath.exp(lanes: load(V.self, s, at &+ 2 &* w) - t2), e3 = VectorMath.exp(lanes: load(V.self, s, at &+ 3 &* w) - t3)
            store(e0, s, at); store(e1, s, at &+ w); store(e2, s, at &+ 2 &* w); store(e3, s, at &+ 3 &* w)
            s0 += e0; s1 += e1; s2 += e2; s3 += e3
        }
        let i0 = 1 / s0, i1 = 1 / s1, i2 = 1 / s2, i3 = 1 / s3
        for r in 0..<k {
            let at = r &* columns &+ c
            let w0 = load(V.self, s, at) * i0, w1 = load(V.self, s, at &+ w) * i1
            let w2 = load(V.self, s, at &+ 2 &* w) * i2, w3 = load(V.self, s, at &+ 3 &* w) * i3
            store(w0, s, at); store(w1, s, at &+ w); store(w2, s, at &+ 2 &* w); store(w3, s, at &+ 3 &* w)
            store(load(V.self, x, at) * w0, y, at); store(load(V.self, x, at &+ w) * w1, y, at &+ w)
            store(load(V.self, x, at &+ 2 &* w) * w2, y, at &+ 2 &* w); store(load(V.self, x, at &+ 3 &* w) * w3, y, at &+ 3 &* w)
        }
    }

    @inlinable @inline(__always)
    static func forwardVector<V: FloatLanes>(_ c: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, s: UnsafeMutablePointer<Float>,
                                             k: Int, columns: Int, _: V.Type) {
        var top = load(V.self, s, c)
        for r in 1..<k { top = V.lanewiseMax(top, load(V.self, s, r &* columns &+ c)) }
        var sum = V()
        for r in 0..<k {
            let e = VectorMath.exp(lanes: load(V.self, s, r &* columns &+ c) - top)
            store(e, s, r &* columns &+ c)
            sum += e
        }
        let inverse = 1 / sum
        for r in 0..<k {
            let at = r &* columns &+ c, w = load(V.self, s, at) * inverse
            store(w, s, at)
            store(load(V.self, x, at) * w, y, at)
        }
    }

    /// Columns per chunk of the backward: a stack buffer of this many floats holds their running sums.
    public static let chunkColumns = 1024

    /// The backward's elementwise part: dlogits = s ⊙ (dy ⊙ x - Σ_rows dy ⊙ x ⊙ s) per column and dx (+)= dy ⊙ s.
    /// It goes a row at a time across chunks of up to `chunkColumns` columns, the per-column sums on the stack:
    /// the column counts are 64 windows x d, so the k rows of a block of columns lie a multiple of 4 KB apart and
    /// would evict each other from L1 between the two passes. Vectors of `Lanes`, then eight-lane vectors, then
    /// single columns.
    @inlinable @inline(__always)
    public static func backward<Lanes: FloatLanes>(dy: UnsafePointer<Float>, x: UnsafePointer<Float>, s: UnsafePointer<Float>,
                                                   dlogits: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?, overwriting: Bool,
                                                   k: Int, columns: Int, lanes: Lanes.Type) {
        var stack = InlineArray<1024, Float>(repeating: 0)
        var span = stack.mutableSpan
        span.withUnsafeMutableBufferPointer { buffer in
            for first in stride(from: 0, to: columns, by: chunkColumns) {
                backwardChunk(first: first, n: Swift.min(chunkColumns, columns &- first), dy: dy, x: x, s: s, dlogits: dlogits, dx: dx,
                              overwriting: overwriting, k: k, columns: columns, dots: buffer.baseAddress!, lanes: Lanes.self)
            }
        }
    }

    /// Columns first ..< first + n of `backward`, their sums in `dots`.
    @inlinable @inline(__always)
    static func backwardChunk<Lanes: FloatLanes>(first: Int, n: Int, dy: UnsafePointer<Float>, x: UnsafePointer<Float>,
                                                 s: UnsafePointer<Float>, dlogits: UnsafeMutablePointer<Float>,
                                                 dx: UnsafeMutablePointer<Float>?, overwriting: Bool, k: Int, columns: Int,
                                                 dots: UnsafeMutablePointer<Float>, lanes: Lanes.Type) {
        dots.update(repeating: 0, count: n)
        for r in 0..<k {
            let at = r &* columns &+ first
            @inline(__always) func add<V: FloatLanes>(_ c: Int, _: V.Type) {
                store(load(V.self, dots, c) + load(V.self, dy, at &+ c) * load(V.self, x, at &+ c) * load(V.self, s, at &+ c), dots, c)
            }
            var c = 0
            while c &+ Lanes.scalarCount <= n { add(c, Lanes.self); c &+= Lanes.scalarCount }
            while c &+ 8 <= n { add(c, SIMD8<Float>.self); c &+= 8 }
            while c < n { dots[c] += dy[at &+ c] * x[at &+ c] * s[at &+ c]; c &+= 1 }
        }
        for r in 0..<k {
            let at = r &* columns &+ first
            @inline(__always) func write<V: FloatLanes>(_ c: Int, _: V.Type) {
                let g = load(V.self, dy, at &+ c), w = load(V.self, s, at &+ c)
                store(w * (g * load(V.self, x, at &+ c) - load(V.self, dots, c)), dlogits, at &+ c)
                if let dx { store(overwriting ? g * w : load(V.self, dx, at &+ c) + g * w, dx, at &+ c) }
            }
            var c = 0
            while c &+ Lanes.scalarCount <= n { write(c, Lanes.self); c &+= Lanes.scalarCount }
            while c &+ 8 <= n { write(c, SIMD8<Float>.self); c &+= 8 }
            while c < n {
                dlogits[at &+ c] = s[at &+ c] * (dy[at &+ c] * x[at &+ c] - dots[c])
                if let dx { dx[at &+ c] = overwriting ? dy[at &+ c] * s[at &+ c] : dx[at &+ c] + dy[at &+ c] * s[at &+ c] }
                c &+= 1
            }
        }
    }

    @inlinable @inline(__always)
    static func load<V: FloatLanes>(_: V.Type, _ p: UnsafePointer<Float>, _ i: Int) -> V {
        UnsafeRawPointer(p + i).loadUnaligned(as: V.self)
    }

    @inlinable @inline(__always)
    static func load<V: FloatLanes>(_: V.Type, _ p: UnsafeMutablePointer<Float>, _ i: Int) -> V { load(V.self, UnsafePointer(p), i) }

    @inlinable @inline(__always)
    static func store<V: FloatLanes>(_ v: V, _ p: UnsafeMutablePointer<Float>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: V.self)
    }
}
