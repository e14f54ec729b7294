import Corpus
import Flow
import Foundation
import Models
import NN

/// A flow scored on an image split: negative log-likelihood in bits per dimension (one dequantisation draw per
/// image, fixed, so the figure repeats), and, where the images have labels, the accuracy of a linear classifier
/// on the flow's latents z (the paper's "informative embeddings" comparison) next to the same classifier on the
/// raw pixels.
public struct FlowEvaluation: Sendable {
    public struct Score: Sendable {
        public var name: String
        public var kind: String
        public var parameters: Int
        public var bitsPerDimension: Double
        public var probeAccuracy: Double?
        /// Largest |f⁻¹(f(x)) - x| over the split's first images (x the dequantised, logit-space input).
        public var reconstructionError: Float
    }

    public var split: String
    public var images: Int
    public var scores: [Score]
    /// The linear probe on pixels / 255 (nil without labels).
    public var pixelProbeAccuracy: Double?
    public var probeTrainImages: Int

    /// Noise for evaluation: a fixed step apart from any training step.
    static let evaluationStep = Int(UInt32.max)

    /// Scores every checkpoint on `split` of the image folder; the probe trains on up to `probeImages` training
    /// images and is tested on the split.
    public static func run(checkpoints: [String], folder: String, split: String, batchSize: Int = 256, probeImages: Int = 10_000) throws -> FlowEvaluation {
        let data = try ImageSource(folder: folder, split: split, seed: 0)
        guard data.count > 0 else { throw DataError("\(data.path): the '\(split)' split holds no images") }
        let trainImages = try ImageSource(folder: folder, split: "train", seed: 0)
        let probeCount = data.labels == nil ? 0 : min(probeImages, trainImages.count)
        var scores: [Score] = []
        for path in checkpoints {
            let model = try ModelFolder.load(path)
            guard let flow = model.network as? FlowModel, let shape = model.config.imageShape else {
                throw DataError("\(path): a \(model.config.kind.rawValue) model does not score images; give a mixerflow or glow checkpoint")
            }
            try data.check(height: shape.height, width: shape.width, channels: shape.channels)
            let (bpd, latents) = try Self.bitsPerDimension(flow, model.store, data, images: data.count, batchSize: batchSize, keepLatents: data.labels != nil)
            var accuracy: Double?
            if let labels = data.labels, probeCount > 0, let trainLabels = trainImages.labels {
                let (_, trainLatents) = try Self.bitsPerDimension(flow, model.store, trainImages, images: probeCount, batchSize: batchSize, keepLatents: true)
                let probe = LinearProbe(features: trainLatents, labels: Array(trainLabels[0..<probeCount]), dimensions: flow.dimensions,
                                        classes: max(trainImages.classes, 1))
                accuracy = probe.accuracy(features: latents, labels: labels)
            }
            scores.append(Score(name: URL(fileURLWithPath: path).lastPathComponent, kind: model.config.kind.rawValue,
                                parameters: model.store.trainableCount, bitsPerDimension: bpd, probeAccuracy: accuracy,
                                reconstructionError: try Self.reconstructionError(flow, model.store, data, count: min(256, data.count))))
        }
        var pixelAccuracy: Double?
        if let labels = data.labels, probeCount > 0, let trainLabels = trainImages.labels {
            let probe = LinearProbe(features: trainImages.pixels[0..<(probeCount * data.dimensions)].map { Float($0) / 255 },
                                    labels: Array(trainLabels[0..<probeCount]), dimensions: data.dimensions, classes: max(trainImages.classes, 1))
            pixelAccuracy = probe.accuracy(features: data.pixels.map { Float($0) / 255 }, labels: labels)
        }
        return FlowEvaluation(split: split, images: data.count, scores: scores, pixelProbeAccuracy: pixelAccuracy, probeTrainImages: probeCount)
    }

    /// Mean bits per dimension over the first `images` images of `source`, in batches, and (`keepLatents`) the latents z.
    static func bitsPerDimension(_ flow: FlowModel, _ store: ParameterStore, _ source: ImageSource, images: Int, batchSize: Int,
                                 keepLatents: Bool) throws -> (Double, [Float]) {
        let d = flow.dimensions
        let batch = WindowBatch(capacity: batchSize, context: d + 1, horizon: 0, channels: 1)
        var sum = 0.0, start = 0, latents: [Float] = []
        if keepLatents { latents.reserveCapacity(images * d) }
        while start < images {
            let n = min(batchSize, images - start)
            try source.load(start..<(start + n), step: evaluationStep, into: batch)
            let output = flow.forward(batch.past, batch: n, mode: .inference, store)
            sum += flow.lossSum(output: output, target: batch.future, weights: nil, samples: n, scale: 0, gradient: nil)
            if keepLatents { for k in 0..<n { latents.append(contentsOf: UnsafeBufferPointer(start: output + k * (d + 1), count: d)) } }
            start += n
        }
        return (sum / Double(images), latents)
    }

    /// Largest |f⁻¹(f(x)) - x| over the first `count` images of `source` (x dequantised, in logit space): how
    /// exactly the trained flow inverts in float32.
    static func reconstructionError(_ flow: FlowModel, _ store: ParameterStore, _ source: ImageSource, count: Int) throws -> Float {
        let d = source.dimensions
        let batch = WindowBatch(capacity: count, context: d + 1, horizon: 0, channels: 1)
        try source.load(0..<count, step: evaluationStep, into: batch)
        var x = [Float](repeating: 0, count: count * d)
        for n in 0..<count { for i in 0..<d { x[n * d + i] = batch.past[n * (d + 1) + i] } }
        var z = [Float](repeating: 0, count: count * d), back = z, logdet = [Float](repeating: 0, count: count)
        flow.network.forward(x, &z, batch: count, logdet: &logdet, store, initializing: nil)
        flow.network.inverse(z, &back, batch: count, store)
        return zip(x, back).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    public var markdownTable: String {
        var lines = ["| model | kind | parameters | \(split) bits/dim | linear probe accuracy | max reconstruction error |",
                     "|---|---|---:|---:|---:|---:|"]
        for s in scores {
            lines.append("| \(s.name) | \(s.kind) | \(s.parameters.grouped) | \(String(format: "%.4f", s.bitsPerDimension)) | \(s.probeAccuracy.map { String(format: "%.4f", $0) } ?? "-") | \(String(format: "%.1e", s.reconstructionError)) |")
        }
        if let pixelProbeAccuracy { lines.append("| pixels (no model) | - | - | - | \(String(format: "%.4f", pixelProbeAccuracy)) | - |") }
        return lines.joined(separator: "\n")
    }

    /// Each figure keyed by model (checkpoint folder name): `<split>_bpd`, `parameters`, `kind`,
    /// `linear_probe_accuracy` (with `pixels`, the probe on raw pixels), `reconstruction_error`, and its maximum.
    public func jsonReport(dataset: String) throws -> Data {
        func keyed<T>(_ value: (Score) -> T?) -> [String: Any] {
            Dictionary(scores.compactMap { s in value(s).map { (s.name, $0 as Any) } }) { first, _ in first }
        }
        var probe = keyed { $0.probeAccuracy }
        if let pixelProbeAccuracy { probe["pixels"] = pixelProbeAccuracy }
        let object: [String: Any] = [
            "dataset": dataset, "split": split, "images": images, "probe_train_images": probeTrainImages,
            "\(split)_bpd": keyed { $0.bitsPerDimension }, "parameters": keyed { $0.parameters }, "kind": keyed { $0.kind },
            "linear_probe_accuracy": probe, "reconstruction_error": keyed { Double($0.reconstructionError) },
            "max_reconstruction_error": Double(scores.map(\.reconstructionError).max() ?? 0),
        ]
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }
}

/// A linear classifier fitted in closed form: ridge regression of one-hot labels on standardised features plus a
/// bias, W = (XᵀX + λI)⁻¹ XᵀY with λ = 1e-3 · n (Cholesky in Double); a class is the largest score.
/// Deterministic and free of learning-rate choices, so the same probe scores every model alike.
struct LinearProbe {
    let dimensions: Int, classes: Int
    let mean: [Double], scale: [Double]
    let weights: [Double]  // [dimensions + 1, classes]

    init(features: [Float], labels: [Int64], dimensions d: Int, classes: Int) {
        dimensions = d
        self.classes = classes
        let n = labels.count, p = d + 1
        var mean = [Double](repeating: 0, count: d), squares = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(features[i * d + j]) } }
        for j in 0..<d { mean[j] /= Double(max(n, 1)) }
        for i in 0..<n { for j in 0..<d { let e = Double(features[i * d + j]) - mean[j]; squares[j] += e * e } }
        let scale = squares.map { 1 / max(($0 / Double(max(n, 1))).squareRoot(), 1e-6) }
        self.mean = mean
        self.scale = scale
        // Gram matrix and right-hand side of the standardised features with a trailing 1.
        var gram = [Double](repeating: 0, count: p * p), rhs = [Double](repeating: 0, count: p * classes)
        var row = [Double](repeating: 1, count: p)
        for i in 0..<n {
            for j in 0..<d { row[j] = (Double(features[i * d + j]) - mean[j]) * scale[j] }
            for a in 0..<p where row[a] != 0 {
                let ra = row[a]
                for b in a..<p { gram[a * p + b] += ra * row[b] }
            }
            let label = Int(labels[i])
            if label >= 0 && label < classes { for a in 0..<p { rhs[a * classes + label] += row[a] } }
        }
        let lambda = 1e-3 * Double(n)
        for a in 0..<p { gram[a * p + a] += lambda; for b in 0..<a { gram[a * p + b] = gram[b * p + a] } }
        weights = Self.solve(gram, rhs, p: p, columns: classes)
    }

    /// Solves G W = R for symmetric positive definite G [p, p] by Cholesky (G = L Lᵀ).
    static func solve(_ g: [Double], _ r: [Double], p: Int, columns: Int) -> [Double] {
        var l = g
        for j in 0..<p {
            var diagonal = l[j * p + j]
            for k in 0..<j { diagonal -= l[j * p + k] * l[j * p + k] }
            let root = diagonal > 0 ? diagonal.squareRoot() : 1e-12
            l[j * p + j] = root
            for i in (j + 1)..<max(p, j + 1) {
                var value = l[i * p + j]
                for k in 0..<j { value -= l[i * p + k] * l[j * p + k] }
                l[i * p + j] = value / root
            }
        }
        var w = r
        for c in 0..<columns {
            for i in 0..<p {  // L y = r
                var value = w[i * columns + c]
                for k in 0..<i { value -= l[i * p + k] * w[k * columns + c] }
                w[i * columns + c] = value / l[i * p + i]
            }
            for i in stride(from: p - 1, through: 0, by: -1) {  // Lᵀ x = y
                var value = w[i * columns + c]
                for k in (i + 1)..<max(p, i + 1) { value -= l[k * p + i] * w[k * columns + c] }
                w[i * columns + c] = value / l[i * p + i]
            }
        }
        return w
    }

    func predict(_ features: UnsafePointer<Float>) -> Int {
        var best = 0, bestScore = -Double.infinity
        for c in 0..<classes {
            var score = weights[dimensions * classes + c]
            for j in 0..<dimensions { score += (Double(features[j]) - mean[j]) * scale[j] * weights[j * classes + c] }
            if score > bestScore { best = c; bestScore = score }
        }
        return best
    }

    func accuracy(features: [Float], labels: [Int64]) -> Double {
        guard !labels.isEmpty else { return 0 }
        var correct = 0
        features.withUnsafeBufferPointer { f in
            for i in 0..<labels.count where predict(f.baseAddress! + i * dimensions) == Int(labels[i]) { correct += 1 }
        }
        return Double(correct) / Double(labels.count)
    }
}
