import CZlib
import Foundation

/// PNG encoding (8-bit greyscale or RGB, no interlace) for sample grids: the signature, then IHDR, one IDAT of
/// zlib-compressed scanlines (each with filter byte 0) and IEND, every chunk closed by its CRC-32.
public enum PNG {
    /// `pixels` [height, width, channels] (channels 1 or 3) as a PNG file.
    public static func encode(_ pixels: [UInt8], width: Int, height: Int, channels: Int) throws -> Data {
        precondition(channels == 1 || channels == 3, "PNG grids are greyscale or RGB")
        precondition(pixels.count == width * height * channels)
        var raw = [UInt8]()
        raw.reserveCapacity(height * (width * channels + 1))
        for row in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(row * width * channels)..<((row + 1) * width * channels)])
        }
        var compressedSize = compressBound(uLong(raw.count))
        var compressed = [UInt8](repeating: 0, count: Int(compressedSize))
        guard compress2(&compressed, &compressedSize, raw, uLong(raw.count), Z_BEST_COMPRESSION) == Z_OK else {
            throw DataError("PNG: zlib could not compress \(raw.count) bytes")
        }
        var file = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        var header = [UInt8]()
        header += bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [8, channels == 1 ? 0 : 2, 0, 0, 0]  // bit depth, colour type, compression, filter, interlace
        file.append(chunk("IHDR", header))
        file.append(chunk("IDAT", Array(compressed[0..<Int(compressedSize)])))
        file.append(chunk("IEND", []))
        return file
    }

    /// Images [count, height, width, channels] tiled `columns` to a row with a 2-pixel white gutter.
    public static func grid(_ images: [UInt8], count: Int, height: Int, width: Int, channels: Int, columns: Int)
        -> (pixels: [UInt8], width: Int, height: Int) {
        let gutter = 2, rows = (count + columns - 1) / columns
        let totalWidth = columns * (width + gutter) + gutter, totalHeight = rows * (height + gutter) + gutter
        var out = [UInt8](repeating: 255, count: totalWidth * totalHeight * channels)
        for image in 0..<count {
            let top = gutter + (image / columns) * (height + gutter), left = gutter + (image % columns) * (width + gutter)
            for y in 0..<height {
                let source = ((image * height + y) * width) * channels
                let target = ((top + y) * totalWidth + left) * channels
                for i in 0..<(width * channels) { out[target + i] = images[source + i] }
            }
        }
        return (out, totalWidth, totalHeight)
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static func chunk(_ type: String, _ body: [UInt8]) -> Data {
        let typed = Array(type.utf8) + body
        let crc = typed.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        return Data(bigEndian(UInt32(body.count)) + typed + bigEndian(crc))
    }
}
