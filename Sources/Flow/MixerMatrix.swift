/// Where a mixer matrix comes from in an image [height, width, channels]: a grid of p × p patches starting at
/// (top, left). Row n of the matrix is patch n (row-major over the grid), its columns the patch's pixels × channels
/// (row-major, channels last). The plain partition starts at (0, 0) and covers the image; the shifted one starts
/// half a patch in and leaves a frame of p/2 pixels out, so that patch boundaries move.
public struct MixerMatrix: Sendable, Equatable {
    public let height: Int, width: Int, channels: Int, patch: Int
    public let top: Int, left: Int, gridRows: Int, gridColumns: Int

    public static func plain(height: Int, width: Int, channels: Int, patch: Int) -> MixerMatrix {
        MixerMatrix(height: height, width: width, channels: channels, patch: patch, top: 0, left: 0,
                    gridRows: height / patch, gridColumns: width / patch)
    }

    public static func shifted(height: Int, width: Int, channels: Int, patch: Int) -> MixerMatrix {
        MixerMatrix(height: height, width: width, channels: channels, patch: patch, top: patch / 2, left: patch / 2,
                    gridRows: height / patch - 1, gridColumns: width / patch - 1)
    }

    /// Rows (patches) and columns (values per patch).
    public var patches: Int { gridRows * gridColumns }
    public var patchSize: Int { patch * patch * channels }
    public var imageSize: Int { height * width * channels }

    /// matrix[b, n, k] = image[b, pixel(n, k)] for `batch` images.
    public func gather(_ image: UnsafePointer<Float>, into matrix: UnsafeMutablePointer<Float>, batch: Int) {
        walk(batch: batch) { imageIndex, matrixIndex, count in
            (matrix + matrixIndex).update(from: image + imageIndex, count: count)
        }
    }

    /// image[b, pixel(n, k)] = matrix[b, n, k]; pixels outside the partition (the frame) are left as they are.
    public func scatter(_ matrix: UnsafePointer<Float>, into image: UnsafeMutablePointer<Float>, batch: Int) {
        walk(batch: batch) { imageIndex, matrixIndex, count in
            (image + imageIndex).update(from: matrix + matrixIndex, count: count)
        }
    }

    /// Calls `copy(imageIndex, matrixIndex, count)` for each run of a patch row: p pixels × channels that are
    /// contiguous in both layouts.
    private func walk(batch: Int, _ copy: (Int, Int, Int) -> Void) {
        let run = patch * channels
        for b in 0..<batch {
            for gr in 0..<gridRows {
                for gc in 0..<gridColumns {
                    let n = gr * gridColumns + gc
                    for u in 0..<patch {
                        let row = top + gr * patch + u, column = left + gc * patch
                        copy(b * imageSize + (row * width + column) * channels, (b * patches + n) * patchSize + u * run, run)
                    }
                }
            }
        }
    }
}
