import Corpus
import Foundation
import Models
import NN

/// Forecast accuracy on the standard protocol: every window of a split, every channel and horizon step, errors
/// z-scored with the dataset's train statistics; broken down per channel and per horizon step.
public struct ForecastMetrics: Codable, Sendable {
    public var mse: Double
    public var mae: Double
    public var windows: Int
    public var perChannel: [Channel]
    public var perHorizonStep: Steps

    public struct Channel: Codable, Sendable { public var name: String; public var mse: Double; public var mae: Double }
    public struct Steps: Codable, Sendable { public var mse: [Double]; public var mae: [Double] }

    enum CodingKeys: String, CodingKey {
        case mse, mae, windows, perChannel = "per_channel", perHorizonStep = "per_horizon_step"
    }
}

/// Sums of squared and absolute z-scored errors, per channel and per horizon step.
public struct ErrorAccumulator: Sendable {
    public let horizon: Int
    public let channels: Int
    let std: [Double]
    var squared: [Double], absolute: [Double]   // [horizon, channels]
    var windows = 0

    public init(horizon: Int, channels: Int, trainStd: [Double]) {
        self.horizon = horizon
        self.channels = channels
        std = trainStd.map { $0 > 0 ? $0 : 1 }  // a constant channel is not rescaled
        squared = [Double](repeating: 0, count: horizon * channels)
        absolute = squared
    }

    /// Adds one window: prediction and actual [horizon, channels] in original units.
    public mutating func add(prediction: UnsafePointer<Float>, actual: UnsafePointer<Float>) {
        for i in 0..<(horizon * channels) {
            let error = Double(prediction[i] - actual[i]) / std[i % channels]
            squared[i] += error * error
            absolute[i] += abs(error)
        }
        windows += 1
    }

    public func metrics(channelNames: [String]) -> ForecastMetrics {
        let n = Double(max(windows, 1))
        let total = n * Double(horizon * channels)
        let perChannel = (0..<channels).map { c in
            ForecastMetrics.Channel(name: c < channelNames.count ? channelNames[c] : "channel_\(c)",
                                    mse: stride(from: c, to: horizon * channels, by: channels).reduce(0) { $0 + squared[$1] } / (n * Double(horizon)),
                                    mae: stride(from: c, to: horizon * channels, by: channels).reduce(0) { $0 + absolute[$1] } / (n * Double(horizon)))
        }
        let steps = ForecastMetrics.Steps(
            mse: (0..<horizon).map { h in (0..<channels).reduce(0) { $0 + squared[h * channels + $1] } / (n * Double(channels)) },
            mae: (0..<horizon).map { h in (0..<channels).reduce(0) { $0 + absolute[h * channels + $1] } / (n * Double(channels)) })
        return ForecastMetrics(mse: squared.reduce(0, +) / total, mae: absolute.reduce(0, +) / total, windows: windows,
                               perChannel: perChannel, perHorizonStep: steps)
    }
}

/// Forecasts that need no training.
public enum NaiveForecast: Sendable {
    case lastValue
    case seasonal(period: Int)
    case trainMean([Double])

    public var name: String {
        switch self {
        case .lastValue: "last value"
        case .seasonal(let p): "seasonal naive (period \(p))"
        case .trainMean: "train mean"
        }
    }

    /// past [context, channels] → prediction [horizon, channels].
    public func predict(past: UnsafePointer<Float>, context: Int, horizon: Int, channels: Int, into out: UnsafeMutablePointer<Float>) {
        for h in 0..<horizon {
            for c in 0..<channels {
                switch self {
                case .lastValue: out[h * channels + c] = past[(context - 1) * channels + c]
                case .seasonal(let p): out[h * channels + c] = past[(context - p + h % p) * channels + c]
                case .trainMean(let mean): out[h * channels + c] = Float(mean[c])
                }
            }
        }
    }

    /// The seasonal period of a dataset: the autocorrelation of the first-differenced train rows of its first
    /// series (averaged over channels) is computed for lags 2...maxLag, and the smallest local peak within 80%
    /// of the highest is taken (multiples of the period score about as high as the period itself).
    public static func detectPeriod(_ corpus: CorpusReader, maxLag: Int) throws -> Int {
        guard let info = corpus.series.first else { return 1 }
        let rows = min(info.ends.0, 20_000), c = corpus.channels
        let lags = 2...max(2, min(maxLag, rows / 3))
        guard rows > 8 else { return 1 }
        var values = [Float](repeating: 0, count: rows * c)
        try values.withUnsafeMutableBufferPointer { try corpus.read(series: 0, row: 0, count: rows, into: $0) }
        var scores = [Double](repeating: 0, count: lags.upperBound + 2)
        for channel in 0..<c {
            let x = (1..<rows).map { Double(values[$0 * c + channel]) - Double(values[($0 - 1) * c + channel]) }
            let mean = x.reduce(0, +) / Double(x.count)
            let d = x.map { $0 - mean }
            let variance = d.reduce(0) { $0 + $1 * $1 }
            guard variance > 0 else { continue }
            for lag in lags.lowerBound...min(lags.upperBound + 1, d.count - 1) {
                var sum = 0.0
                for t in lag..<d.count { sum += d[t] * d[t - lag] }
                scores[lag] += sum / variance / Double(c)
            }
        }
        let top = lags.map { scores[$0] }.max() ?? 0
        guard top > 0 else { return 1 }
        for lag in lags where scores[lag] >= 0.8 * top && scores[lag] >= scores[lag - 1] && scores[lag] >= scores[lag + 1] {
            return lag
        }
        return lags.max { scores[$0] < scores[$1] } ?? 1
    }
}

/// `ttm evaluate`: one or two checkpoints and the naive baselines on one split of a prepared dataset.
public struct Evaluation: Sendable {
    public struct Entry: Codable, Sendable {
        public var name: String
        public var metrics: ForecastMetrics
    }

    public var split: String
    public var context: Int
    public var horizon: Int
    public var channels: [String]
    public var models: [Entry]
    public var baselines: [Entry]
    public var seasonalPeriod: Int
    /// A few windows for plotting: the context tail, the actuals and each model's forecast (channel 0).
    public var examples: [(past: [Float], actual: [Float], forecasts: [[Float]])] = []

    public static func run(checkpoints: [String], data corpus: CorpusReader, split: Split, seasonPeriod: Int?,
                           batchSize: Int = 128, examples exampleCount: Int = 3) throws -> Evaluation {
        var loaded: [(name: String, model: LoadedModel, forecaster: any Forecaster)] = []
        for path in checkpoints {
            let model = try ModelFolder.load(path).fitted(toChannels: corpus.channels, what: path)
            loaded.append((URL(fileURLWithPath: path).lastPathComponent, model, try model.forecaster(path)))
        }
        guard let first = loaded.first?.forecaster else { throw TrainingError("evaluate: no checkpoint given") }
        let context = first.contextLength, horizon = first.predictionLength
        for other in loaded.dropFirst() where other.forecaster.contextLength != context || other.forecaster.predictionLength != horizon {
            throw TrainingError("evaluate: the checkpoints differ in context or horizon (\(loaded[0].name) vs \(other.name))")
        }
        let source = try WindowSource(corpora: [corpus], split: split, view: .multivariate, context: context, horizon: horizon)
        guard source.count > 0 else {
            throw DataError("\(corpus.folder): no \(split.rawValue) windows of \(context + horizon) rows (\(source.skippedSeries) series too short)")
        }
        let c = corpus.channels
        let period = try seasonPeriod ?? NaiveForecast.detectPeriod(corpus, maxLag: context)
        guard period >= 1, period <= context else { throw TrainingError("--season-period \(period) must be between 1 and the context length \(context)") }
        let naive: [NaiveForecast] = [.lastValue, .seasonal(period: period), .trainMean(corpus.trainMean)]
        var modelErrors = loaded.map { _ in ErrorAccumulator(horizon: horizon, channels: c, trainStd: corpus.trainStd) }
        var naiveErrors = naive.map { _ in ErrorAccumulator(horizon: horizon, channels: c, trainStd: corpus.trainStd) }
        let batch = WindowBatch(capacity: batchSize, context: context, horizon: horizon, channels: c)
        let perPast = batch.pastCount, perFuture = batch.futureCount
        var guess = [Float](repeating: 0, count: perFuture)
        let exampleWindows = Set((0..<exampleCount).map { $0 * max(source.count / exampleCount, 1) }.filter { $0 < source.count })
        var examples: [Int: (past: [Float], actual: [Float], forecasts: [[Float]])] = [:]
        var start = 0
        try source.forEachBatch(into: batch) { batch in
            let n = batch.count
            for (k, entry) in loaded.enumerated() {
                let y = entry.model.network.forward(batch.past, batch: n, mode: .inference, entry.model.store)
                for slot in 0..<n {
                    modelErrors[k].add(prediction: y + slot * perFuture, actual: batch.future + slot * perFuture)
                    if exampleWindows.contains(start + slot) {
                        if examples[start + slot] == nil {
                            let p = batch.past + slot * perPast, f = batch.future + slot * perFuture
                            examples[start + slot] = ((0..<context).map { p[$0 * c] }, (0..<horizon).map { f[$0 * c] }, [])
                        }
                        examples[start + slot]!.forecasts.append((0..<horizon).map { y[slot * perFuture + $0 * c] })
                    }
                }
            }
            guess.withUnsafeMutableBufferPointer { out in
                for slot in 0..<n {
                    for (k, forecast) in naive.enumerated() {
                        forecast.predict(past: batch.past + slot * perPast, context: context, horizon: horizon, channels: c, into: out.baseAddress!)
                        naiveErrors[k].add(prediction: out.baseAddress!, actual: batch.future + slot * perFuture)
                    }
                }
            }
            start += n
        }
        var evaluation = Evaluation(
            split: split.rawValue, context: context, horizon: horizon, channels: corpus.columns,
            models: zip(loaded, modelErrors).map { Entry(name: $0.name, metrics: $1.metrics(channelNames: corpus.columns)) },
            baselines: zip(naive, naiveErrors).map { Entry(name: $0.name, metrics: $1.metrics(channelNames: corpus.columns)) },
            seasonalPeriod: period)
        evaluation.examples = examples.keys.sorted().map { examples[$0]! }
        return evaluation
    }

    /// The JSON report: top-level `mse` and `mae` of the (first) model, then its breakdowns, the other models
    /// and the baselines.
    public func jsonReport(dataset: String) throws -> Data {
        let main = models[0].metrics
        var object: [String: Any] = [
            "mse": main.mse, "mae": main.mae, "model": models[0].name, "dataset": dataset, "split": split,
            "context_length": context, "prediction_length": horizon, "windows": main.windows, "channels": channels,
            "scale": "z-scored with the train split's per-channel mean and population std",
            "per_channel": main.perChannel.map { ["name": $0.name, "mse": $0.mse, "mae": $0.mae] },
            "per_horizon_step": ["mse": main.perHorizonStep.mse, "mae": main.perHorizonStep.mae],
            "baselines": Dictionary(uniqueKeysWithValues: baselines.map { ($0.name, ["mse": $0.metrics.mse, "mae": $0.metrics.mae]) }),
            "seasonal_period": seasonalPeriod,
        ]
        object["models"] = models.map { ["name": $0.name, "mse": $0.metrics.mse, "mae": $0.metrics.mae,
                                         "per_channel": $0.metrics.perChannel.map { ["name": $0.name, "mse": $0.mse, "mae": $0.mae] }] }
        return try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    }

    /// A Markdown table of every model and baseline.
    public func markdownTable() -> String {
        var lines = ["| forecaster | MSE | MAE |", "|---|---:|---:|"]
        for entry in models { lines.append(String(format: "| %@ | %.4f | %.4f |", entry.name as NSString, entry.metrics.mse, entry.metrics.mae)) }
        for entry in baselines { lines.append(String(format: "| %@ | %.4f | %.4f |", entry.name as NSString, entry.metrics.mse, entry.metrics.mae)) }
        return lines.joined(separator: "\n")
    }
}
