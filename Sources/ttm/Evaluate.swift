import ArgumentParser
import Checkpoint
import Corpus
import Foundation
import Models
import Training

struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Score checkpoints on a dataset with the standard protocol, against naive baselines.",
        discussion: """
            MSE and MAE z-scored with the train split's statistics, over all channels, horizon steps and windows of \
            the split; per channel and per horizon step; the same for last-value, seasonal-naive and train-mean \
            forecasts. Give --checkpoint twice to compare two models (e.g. zero-shot and fine-tuned) side by side.

            On a prepared image folder (ttm prepare --images) with MixerFlow or Glow checkpoints: bits per dimension \
            of the split, and, where the images have labels, the accuracy of a linear classifier (ridge regression \
            on one-hot labels) fitted on the latents of --probe-images training images, beside the same classifier \
            on raw pixels.
            """)

    @Option(name: .customLong("checkpoint"), help: "A model folder; repeat to compare models.") var checkpoints: [String]
    @Option(help: "A prepared folder, or a CSV (prepared on the fly with --csv-split).") var data: String
    @Option(help: "Which split to score: train, validation or test.") var split: Split = .test
    @Option(help: "Split protocol for a CSV given to --data.") var csvSplit: String = "ratio:0.7,0.1,0.2"
    @Option(help: "Missing values in a CSV given to --data: error (the message names file, line and column), ffill or drop.")
    var missing: MissingValuePolicy = .error
    @Option(help: "Skipped timestamps in a CSV given to --data: error (the message names both lines), ffill or ignore.")
    var gaps: GapPolicy = .error
    @Option(help: "Season length for the seasonal-naive baseline (default: detected from the train rows).") var seasonPeriod: Int?
    @Option(help: "Image folders: training images the linear probe is fitted on.") var probeImages: Int = 10_000
    @Option(help: "Write the JSON report here.") var report: String?
    @Option(help: "Write SVG plots into this folder.") var plots: String?
    @Flag(help: "Replace --report and --plots if they exist.") var overwrite = false

    func validate() throws {
        guard !checkpoints.isEmpty else { throw ValidationError("give at least one --checkpoint") }
        if let seasonPeriod, seasonPeriod < 1 { throw ValidationError("--season-period must be at least 1") }
        guard probeImages >= 0 else { throw ValidationError("--probe-images must be 0 (no probe) or more") }
    }

    func run() throws {
        let inputs = checkpoints + [data]
        if let report { try AtomicFile.checkOutput(report, overwrite: overwrite, inputs: inputs, option: "--report") }
        if let plots { try AtomicFile.checkOutput(plots, overwrite: overwrite, inputs: inputs, option: "--plots") }
        if FileManager.default.fileExists(atPath: URL(fileURLWithPath: data).appendingPathComponent(ImageShards.file).path) {
            return try evaluateFlows()
        }
        var temporary: URL?
        defer { if let temporary { try? FileManager.default.removeItem(at: temporary) } }
        var folder = data
        if data.lowercased().hasSuffix(".csv") {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("ttm-evaluate-\(ProcessInfo.processInfo.processIdentifier)")
            try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
            temporary = root
            folder = root.appendingPathComponent("data").path
            let model = try ModelFolder.load(checkpoints[0])
            _ = try Prepare.run(csv: data, output: folder, options: .init(split: try SplitProtocol(parsing: csvSplit), context: try model.forecaster(checkpoints[0]).contextLength,
                                                                         missing: missing, gaps: gaps))
        }
        let corpus = try CorpusReader(folder: folder)
        let evaluation = try Evaluation.run(checkpoints: checkpoints, data: corpus, split: split, seasonPeriod: seasonPeriod)
        print("evaluate: \(data), \(split.rawValue) split, \(evaluation.models[0].metrics.windows) windows, context \(evaluation.context), horizon \(evaluation.horizon), \(evaluation.channels.count) channels; seasonal period \(evaluation.seasonalPeriod)")
        print(evaluation.markdownTable())
        if let report {
            try AtomicFile.write(evaluation.jsonReport(dataset: data), to: report)
            print("report: \(report)")
        }
        if let plots {
            let files = try evaluation.writePlots(to: plots)
            print("plots: \(files.count) SVG files in \(plots)")
        }
    }
}

extension Evaluate {
    func evaluateFlows() throws {
        if plots != nil { throw ValidationError("--plots draws forecasts; an image folder has none (drop --plots)") }
        let evaluation = try FlowEvaluation.run(checkpoints: checkpoints, folder: data, split: split.rawValue, probeImages: probeImages)
        print("evaluate: \(data), \(split.rawValue) split, \(evaluation.images) images; linear probe fitted on \(evaluation.probeTrainImages) training images")
        print(evaluation.markdownTable)
        if let report {
            try AtomicFile.write(evaluation.jsonReport(dataset: data), to: report)
            print("report: \(report)")
        }
    }
}

extension Split: ExpressibleByArgument {}
