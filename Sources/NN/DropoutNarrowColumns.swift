/// Dropout on the column layout when a sample's rows are short (at most 16 elements: TTM's finest patch mixers,
/// 6 and 12 features per sample). Drawn row by row in place, a row of 6 ends inside every vector and the mask
/// went element by element (4 ns per element against 0.6 on long rows). Here each sample's flags are drawn
/// into a contiguous staging row, 256 elements of its stream at a time, then every row of the matrix is put
/// together from the samples' runs (one 16-byte copy per sample; each copy's tail is overwritten by the next
/// sample's) and applied as one long vector loop. The flags and products are those of `fillMask`.
extension Dropout {
    static let widestStagedRow = 16
    private static let stagedChunk = 256, stagedCarry = 64
    /// A sample's staging: the previous chunk's last 64 flags, this chunk's 256, and room for a 16-byte read.
    static let stagedStride = stagedCarry + stagedChunk + widestStagedRow

    /// x, y [rows, samples · width] as in `forward(columns:)` (nil: flags only); `keep` [rows · samples · width
    /// + 16] or nil; `staging` [samples · stagedStride + samples · width + 16].
    func forwardStagedColumns(applyingTo data: (x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>)?, rows: Int, samples: Int, width: Int,
                              stream: RandomStream, firstSample: Int, threshold: UInt32, scale: Float,
                              keep: UnsafeMutablePointer<UInt8>?, staging: UnsafeMutablePointer<UInt8>) {
        precondition(width <= Self.widestStagedRow)
        let total = rows * width, rowLength = samples * width, stride = Self.stagedStride
        let rowFlags = staging + samples * stride   // a row's flags when no mask is kept
        var chunkStart = 0, row = 0
        while row < rows {
            let chunkEnd = min(chunkStart + Self.stagedChunk, total)
            for s in 0..<samples {
                let sampleFlags = staging + s * stride
                if chunkStart > 0 { sampleFlags.update(from: sampleFlags + Self.stagedChunk, count: Self.stagedCarry) }
                stream.fillMask(sample: firstSample + s, first: chunkStart, count: chunkEnd - chunkStart, threshold: threshold, scale: scale,
                                into: sampleFlags + Self.stagedCarry)
            }
            // Rows complete in this chunk; a row begun in the previous one is in its carried flags.
            let rowsEnd = chunkEnd == total ? rows : chunkEnd / width
            while row < rowsEnd {
                let from = row * width - (chunkStart - Self.stagedCarry)
                let flags = keep.map { $0 + row * rowLength } ?? rowFlags
                for s in 0..<samples {
                    let run = UnsafeRawPointer(staging + s * stride + from).loadUnaligned(as: SIMD16<UInt8>.self)
                    UnsafeMutableRawPointer(flags + s * width).storeBytes(of: run, as: SIMD16<UInt8>.self)
                }
                if let data {
                    let at = row * rowLength
                    ElementwiseLoops.kernels.multiply(data.x + at, keeping: flags, scale: scale, into: data.y + at, count: rowLength)
                }
                row += 1
            }
            chunkStart = chunkEnd
        }
    }
}
