import Foundation
import NN

/// From 8-bit pixels to the flow's continuous input, and the objective in bits per dimension.
///
/// Uniform dequantisation: v = (pixel + u) / 256 with u ~ U[0, 1) drawn from the counter-based generator keyed by
/// the image's global index (so the noise does not depend on how a batch is split over ranks). Then the logit
/// transform of RealNVP, x = logit(α + (1 - 2α) v), which maps [0, 1) onto the real line; its log-determinant is
/// Σ log(1 - 2α) - log s - log(1 - s) with s = α + (1 - 2α) v.
///
/// With z = f(x) and the flow's log|det|, the negative log-likelihood of the discrete image, in bits per dimension:
///   bpd = (½ Σ z² + ½ D log 2π - log|det f| - log|det logit|) / (D ln 2) + 8
/// (+8: the density of v lives on [0, 1)ᴰ, pixels on 256 levels per dimension: log 256 / ln 2 = 8 bits).
/// That is an upper bound on the discrete model's bits per dimension, as the paper and Glow report.
public enum Dequantization {
    public static let alpha: Float = 0.05

    /// x [count] from `pixels` [count] with the noise of stream `noise` for global image `image`, and the
    /// transform's log-determinant added into `logdet`.
    public static func continuous(_ pixels: UnsafePointer<UInt8>, count: Int, image: Int, noise: RandomStream,
                                  into x: UnsafeMutablePointer<Float>, logdet: inout Float) {
        noise.fillUniform(sample: image, count: count, into: x)
        var sum = 0.0
        let a = Double(alpha), width = 1 - 2 * a
        for i in 0..<count {
            let s = a + width * (Double(pixels[i]) + Double(x[i])) / 256
            x[i] = Float(log(s) - log(1 - s))
            sum += log(width) - log(s) - log(1 - s)
        }
        logdet += Float(sum)
    }

    /// Pixels back from x (the inverse of `continuous` without its noise: the level v falls in).
    public static func pixels(_ x: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<UInt8>) {
        let a = Double(alpha), width = 1 - 2 * a
        for i in 0..<count {
            let s = 1 / (1 + exp(-Double(x[i])))
            out[i] = UInt8(max(0, min(255, ((s - a) / width * 256).rounded(.down))))
        }
    }

    /// Bits per dimension of each image from its z [dimensions] and total log-determinant (flow and logit);
    /// with `gradient`, ∂(scale · Σ bpd)/∂z into dz and ∂/∂logdet into dLogdet. Returns Σ bpd over the batch.
    public static func bitsPerDimension(z: UnsafePointer<Float>, logdet: UnsafePointer<Float>, batch: Int, dimensions: Int,
                                        scale: Float = 1, dz: UnsafeMutablePointer<Float>? = nil,
                                        dLogdet: UnsafeMutablePointer<Float>? = nil) -> Double {
        let d = Double(dimensions), perBit = 1 / (d * log(2.0))
        var total = 0.0
        for n in 0..<batch {
            var squares = 0.0
            for i in 0..<dimensions { let v = Double(z[n * dimensions + i]); squares += v * v }
            total += (0.5 * squares + 0.5 * d * log(2 * Double.pi) - Double(logdet[n])) * perBit + 8
            if let dz { for i in 0..<dimensions { dz[n * dimensions + i] = scale * Float(perBit) * z[n * dimensions + i] } }
            dLogdet?[n] = -scale * Float(perBit)
        }
        return total
    }
}
