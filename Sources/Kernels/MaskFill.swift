/// One sample's dropout mask, drawn and applied in one pass (NN's `RandomStream.fillMask` says what the mask
/// is): the Philox key and counter words that name the sample's stream, where its elements go, and the rule that
/// keeps or drops them. `Elementwise.fillMask` draws eight Philox blocks (64 draws) at a time and stores eight
/// elements per vector; `Elementwise512.fillMask` sixteen blocks and sixteen elements. Each element gets the
/// same draw and the same product either way, so the two builds give the same bits.
public struct MaskFill {
    public var key: SIMD2<UInt32>
    /// The counter's words after the block index.
    public var sample: UInt32, step: UInt32, site: UInt32
    /// The stream's elements first ..< first + count are drawn; `first` is a multiple of 64 (a Philox group).
    public var first: Int
    public var count: Int
    /// Element first + e goes to keep[(e / rowLength)·rowStride + e % rowLength] (and the same index of the data).
    public var rowLength: Int, rowStride: Int
    /// A draw below it drops the element.
    public var threshold: UInt32
    public var scale: Float
    public var keep: UnsafeMutablePointer<UInt8>?
    /// y = x ⊙ mask as the mask is drawn (x may be y).
    public var data: (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)?

    @inlinable
    public init(key: SIMD2<UInt32>, sample: UInt32, step: UInt32, site: UInt32, first: Int = 0, count: Int, rowLength: Int, rowStride: Int,
                threshold: UInt32, scale: Float, keep: UnsafeMutablePointer<UInt8>?,
                data: (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)?) {
        self.key = key
        self.sample = sample
        self.step = step
        self.site = site
        precondition(first % 64 == 0, "a mask fill starts at a Philox group")
        self.first = first
        self.count = count
        self.rowLength = Swift.max(rowLength, 1)
        self.rowStride = rowStride
        self.threshold = threshold
        self.scale = scale
        self.keep = keep
        self.data = data
    }

    /// Eight blocks per Philox call: element 64g + 16w + 8h + j is half h of word w of block 8g + j, so each
    /// word half is eight contiguous elements.
    @inlinable @inline(__always)
    public func fillEightBlocksAtATime() {
        var cursor = MaskCursor(self)
        var base = 0
        while base < count {
            let (w0, w1, w2, w3) = Philox.eightBlocks(x: UInt32(truncatingIfNeeded: (first &+ base) >> 3), y: sample, z: step, w: site, key: key)
            cursor.emit(w0 & 0xFFFF); cursor.emit(w0 &>> 16)
            cursor.emit(w1 & 0xFFFF); cursor.emit(w1 &>> 16)
            cursor.emit(w2 & 0xFFFF); cursor.emit(w2 &>> 16)
            cursor.emit(w3 & 0xFFFF); cursor.emit(w3 &>> 16)
            base &+= 64
        }
    }
}

/// Where the next element of a `MaskFill` goes: (row, column) of element `emitted`.
@frozen
public struct MaskCursor {
    public let fill: MaskFill
    public var row = 0, column = 0
    public let limit: SIMD8<Int32>, scaleBits: SIMD8<Int32>

    @inlinable @inline(__always)
    public init(_ fill: MaskFill) {
        self.fill = fill
        limit = SIMD8(repeating: Int32(truncatingIfNeeded: fill.threshold))
        scaleBits = SIMD8(repeating: Int32(bitPattern: fill.scale.bitPattern))
    }

    /// Elements written so far.
    @inlinable @inline(__always)
    public var emitted: Int { row &* fill.rowLength &+ column }

    /// The next eight elements from their draws: a vector when they lie in one row, else one at a time (up to
    /// the end). The keep/drop choice is made in integer lanes: the sign of draw - threshold.
    @inlinable @inline(__always)
    public mutating func emit(_ draws: SIMD8<UInt32>) {
        let dropped = (unsafeBitCast(draws, to: SIMD8<Int32>.self) &- limit) &>> 31   // all ones where below
        let mask = unsafeBitCast(scaleBits & ~dropped, to: SIMD8<Float>.self)
        // Lane by lane: SIMD8<UInt8>(truncatingIfNeeded:) stayed an out-of-line generic call in this build.
        let flags = ~dropped & 1
        let kept = SIMD8<UInt8>(UInt8(truncatingIfNeeded: flags[0]), UInt8(truncatingIfNeeded: flags[1]), UInt8(truncatingIfNeeded: flags[2]),
                                UInt8(truncatingIfNeeded: flags[3]), UInt8(truncatingIfNeeded: flags[4]), UInt8(truncatingIfNeeded: flags[5]),
                                UInt8(truncatingIfNeeded: flags[6]), UInt8(truncatingIfNeeded: flags[7]))
        let available = Swift.min(8, fill.count &- emitted)
        if available == 8 && column &+ 8 <= fill.rowLength {
            let at = row &* fill.rowStride &+ column
            if let keep = fill.keep { UnsafeMutableRawPointer(keep + at).storeBytes(of: kept, as: SIMD8<UInt8>.self) }
            if let data = fill.data {
                let x = UnsafeRawPointer(data.x + at).loadUnaligned(as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(data.y + at).storeBytes(of: x * mask, as: SIMD8<Float>.self)
            }
            column &+= 8
            if column == fill.rowLength { column = 0; row &+= 1 }
            return
        }
        for j in 0..<Swift.max(available, 0) {
            let at = row &* fill.rowStride &+ column
            if let keep = fill.keep { keep[at] = kept[j] }
            if let data = fill.data { data.y[at] = data.x[at] * mask[j] }
            column &+= 1
            if column == fill.rowLength { column = 0; row &+= 1 }
        }
    }
}
