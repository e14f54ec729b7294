import Kernels

/// Inverted dropout: in training each element is kept with probability 1 - rate (rate rounded up to a multiple
/// of 2⁻¹⁶, the resolution of the draws) and scaled by 1 / (1 - rate); in inference it is the identity. The mask is drawn from the counter-based generator keyed by
/// (seed, step, global sample index, site), so it is the same however a batch is split across ranks.
public struct Dropout: Sendable {
    public let rate: Float
    /// Distinguishes this layer's masks from every other dropout layer's.
    public let site: UInt32

    public init(rate: Float, site: UInt32) {
        precondition(rate >= 0 && rate < 1, "dropout rate \(rate) is not in [0, 1)")
        self.rate = rate
        self.site = site
    }

    public var isIdentity: Bool { rate == 0 }

    /// The randomness of one forward call; nil means inference.
    public struct Context: Sendable {
        public var stream: RandomStream
        /// Global index of the first sample of this (local) batch within the global batch.
        public var firstSample: Int
        public init(seed: UInt64, step: Int, firstSample: Int) {
            stream = RandomStream(seed: seed, step: UInt32(truncatingIfNeeded: step))
            self.firstSample = firstSample
        }
    }

    /// y = x ⊙ mask / (1 - rate) for `samples` samples of `perSample` elements; `mask` keeps which elements
    /// were kept, and the scale 1/(1-rate), for backward. In inference (`context` nil) or at rate 0, y = x and
    /// the mask only records that nothing was dropped (no flags are written: backward then passes dy through). The mask is
    /// applied as it is drawn; `keepMask` false (a pass that nothing will differentiate, e.g. a frozen
    /// backbone's) keeps none.
    public func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, mask maskBuffer: DropoutMask,
                        samples: Int, perSample: Int, context: Context?, keepMask: Bool = true) {
        draw(applyingTo: (x, y), mask: maskBuffer, samples: samples, perSample: perSample, context: context, keepMask: keepMask)
    }

    /// The same on the column layout x [rows, samples · width]: sample s owns columns s·width ..< (s+1)·width of
    /// every row, and its element (r, j) is element r·width + j of its stream, as if it were stored [rows, width].
    public func forward(columns x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, mask maskBuffer: DropoutMask,
                        rows: Int, samples: Int, width: Int, context: Context?, keepMask: Bool = true) {
        draw(columns: rows, applyingTo: (x, y), mask: maskBuffer, samples: samples, width: width, context: context, keepMask: keepMask)
    }

    /// The mask of `forward` drawn and kept but not applied, for a caller that applies it in a pass of its own
    /// (the MLP, with its activation): true if one was drawn (training at a positive rate), else nothing is
    /// dropped and `mask` says so.
    public func drawMask(_ maskBuffer: DropoutMask, samples: Int, perSample: Int, context: Context?) -> Bool {
        draw(applyingTo: nil, mask: maskBuffer, samples: samples, perSample: perSample, context: context, keepMask: true)
        return maskBuffer.applied
    }

    /// `drawMask` on the column layout (`forward(columns:)`).
    public func drawMask(columns rows: Int, _ maskBuffer: DropoutMask, samples: Int, width: Int, context: Context?) -> Bool {
        draw(columns: rows, applyingTo: nil, mask: maskBuffer, samples: samples, width: width, context: context, keepMask: true)
        return maskBuffer.applied
    }

    private func draw(applyingTo data: (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)?, mask maskBuffer: DropoutMask,
                      samples: Int, perSample: Int, context: Context?, keepMask: Bool) {
        apply(data, mask: maskBuffer, count: samples * perSample, context: context, keepMask: keepMask) { stream, threshold, scale, mask, first in
            for s in 0..<samples {
                let at = s * perSample
                stream.fillMask(sample: first + s, count: perSample, threshold: threshold, scale: scale, into: mask.map { $0 + at },
                                applyingTo: data.map { ($0.x + at, $0.y + at) })
            }
        }
    }

    private func draw(columns rows: Int, applyingTo data: (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)?,
                      mask maskBuffer: DropoutMask, samples: Int, width: Int, context: Context?, keepMask: Bool) {
        apply(data, mask: maskBuffer, count: rows * samples * width, context: context, keepMask: keepMask) { stream, threshold, scale, mask, first in
            if width <= Self.widestStagedRow {   // DropoutNarrowColumns.swift
                let staging = maskBuffer.reserveStaging(samples * Self.stagedStride + samples * width + Self.widestStagedRow)
                forwardStagedColumns(applyingTo: data, rows: rows, samples: samples, width: width, stream: stream, firstSample: first,
                                     threshold: threshold, scale: scale, keep: mask, staging: staging)
                return
            }
            for s in 0..<samples {
                let at = s * width
                stream.fillMask(sample: first + s, count: rows * width, rowLength: width, rowStride: samples * width,
                                threshold: threshold, scale: scale, into: mask.map { $0 + at }, applyingTo: data.map { ($0.x + at, $0.y + at) })
            }
        }
    }

    /// Draws the mask and applies it to the data in one pass with `fill(stream, threshold, scale, mask or nil,
    /// first sample)`, keeping the mask only with `keepMask`; or copies x through when nothing is dropped.
    @inline(__always)
    private func apply(_ data: (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)?, mask maskBuffer: DropoutMask, count: Int,
                       context: Context?, keepMask: Bool, fill: (RandomStream, UInt32, Float, UnsafeMutablePointer<UInt8>?, Int) -> Void) {
        guard let context, rate > 0 else {
            maskBuffer.applied = false
            maskBuffer.kept = true
            if let data, UnsafePointer(data.y) != data.x { data.y.update(from: data.x, count: count) }
            return
        }
        maskBuffer.applied = true
        maskBuffer.kept = keepMask
        maskBuffer.scale = 1 / (1 - rate)
        var stream = context.stream
        stream.site = site
        // 16 flags of slack: the staged path's last 16-byte copy runs past the last row.
        fill(stream, RandomStream.maskThreshold(rate: rate), maskBuffer.scale, keepMask ? maskBuffer.reserve(count + Self.widestStagedRow) : nil,
             context.firstSample)
    }
}

/// The mask of a dropout layer's last forward, kept for its backward: a keep flag per element and the scale
/// when one was drawn, or only the fact that nothing was dropped (inference, rate 0), which costs no pass over
/// the activations.
public final class DropoutMask {
    /// keep[i] is 1 where element i was kept (and scaled by `scale`), 0 where it was dropped.
    public private(set) var keep = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    private var keepCapacity = 1
    public internal(set) var scale: Float = 1
    public internal(set) var applied = false
    /// False after a forward that dropped without keeping its mask (`keepMask` false): no backward may follow.
    public internal(set) var kept = true
    /// Each sample's flags before they are assembled into rows (`Dropout.forwardStagedColumns`).
    private var staging = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    private var stagingCapacity = 1
    public init() {}

    deinit {
        keep.deallocate()
        staging.deallocate()
    }

    /// Room for `count` flags.
    func reserve(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        grow(&keep, capacity: &keepCapacity, toHold: count)
        return keep
    }

    /// Room for `count` bytes of staged flags.
    func reserveStaging(_ count: Int) -> UnsafeMutablePointer<UInt8> {
        grow(&staging, capacity: &stagingCapacity, toHold: count)
        return staging
    }

    /// dy ⊙ mask written into `buffer`, or dy itself when nothing was dropped (no pass at all): the backward
    /// of the dropout, which callers need not zero a gradient buffer for.
    public func applied(to dy: UnsafePointer<Float>, using buffer: FloatBuffer, count: Int) -> UnsafePointer<Float> {
        guard applied else { return dy }
        precondition(kept, "dropout backward after a forward that kept no mask (a pass without backward)")
        let out = buffer.reserve(count)
        ElementwiseLoops.kernels.multiply(dy, keeping: keep, scale: scale, into: out, count: count)
        return UnsafePointer(out)
    }

    /// The mask (then `factor`) as a GEMM's finish (`PanelGEMM.Finish`), or none when no mask was applied.
    public func finishing(times factor: UnsafePointer<Float>? = nil) -> PanelGEMM.Finish {
        guard applied else { return .none }
        precondition(kept, "dropout backward after a forward that kept no mask (a pass without backward)")
        return .masked(keep: keep, scale: scale, factor: factor)
    }

    /// dy ⊙ mask in place (nothing when no mask was applied).
    public func apply(to dy: UnsafeMutablePointer<Float>, count: Int) {
        guard applied else { return }
        precondition(kept, "dropout backward after a forward that kept no mask (a pass without backward)")
        ElementwiseLoops.kernels.multiply(dy, keeping: keep, scale: scale, into: dy, count: count)
    }
}
