/// What the training engine knows of a model: where its parameters live, how to initialise them, a forward over
/// a batch in training or inference mode, the loss of its output, a backward into the flat gradient arena, and
/// what a fine-tune freezes. Nothing else about the model reaches the engine.
///
/// A sample is `inputCount` Floats in and `outputCount` Floats out; the model computes its own loss from the
/// output and `targetCount` target Floats (a forecaster compares forecast and future, a flow has no target: its
/// loss is the likelihood of its input). Per-sample weights hold `weightCount` Floats (one per channel of a
/// forecast) that scale each error.
public protocol TrainableModel: AnyObject {
    /// The kind written into checkpoints and shown to users ("ttm", "tsmixer", "mixerflow", "glow").
    var kind: String { get }
    var layout: ParameterLayout { get }
    var inputCount: Int { get }
    var outputCount: Int { get }
    var targetCount: Int { get }
    var weightCount: Int { get }
    /// Terms of a sample's loss: a reported loss is the loss sum over (samples · lossTerms), the mean per term.
    var lossTerms: Int { get }

    /// Σ over `samples` of the sample's loss, from `output` [samples, outputCount] and `target` [samples,
    /// targetCount] (weights [samples, weightCount] or nil); with `gradient`, ∂(scale · Σ)/∂output into it.
    func lossSum(output: UnsafePointer<Float>, target: UnsafePointer<Float>, weights: UnsafePointer<Float>?, samples: Int,
                 scale: Float, gradient: UnsafeMutablePointer<Float>?) -> Double

    /// Fresh parameters drawn from the counter-based generator keyed by `seed`.
    func initialize(_ p: ParameterStore, seed: UInt64)
    /// Output [batch, outputCount] of input [batch, inputCount], valid until the next forward. In training
    /// mode the model keeps what backward needs. A batch of 0 samples is allowed (a rank whose share of a
    /// small global batch is empty still joins the batch-statistics reduction).
    func forward(_ input: UnsafePointer<Float>, batch: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float>
    /// Accumulates the gradients of ⟨dOutput, output⟩ of the last forward into the store's gradient arena.
    func backward(_ dOutput: UnsafePointer<Float>, _ p: ParameterStore)
    /// Freezes what fine-tuning keeps fixed: the store's optimizer skips it and backward computes nothing for it.
    func freezeForFineTuning(_ p: ParameterStore)
    /// The first stage of the last forward whose output holds a NaN or infinity, for error messages.
    func firstNonFiniteStage() -> String?
    /// Whether a training forward normalises over the batch (BatchNorm): then the batch cannot be split among
    /// threads without joining their statistics.
    var usesBatchStatistics: Bool { get }
}

extension TrainableModel {
    public var usesBatchStatistics: Bool { false }
}

/// A model that forecasts: past [batch, contextLength, channels] → forecast [batch, predictionLength, channels],
/// compared with the future by `loss`.
public protocol Forecaster: TrainableModel {
    var loss: Loss { get }
    var contextLength: Int { get }
    var predictionLength: Int { get }
    var channels: Int { get }
    /// Lines that describe the architecture and parameter counts (`ttm inspect`).
    func summary(_ p: ParameterStore) -> [String]
}

extension Forecaster {
    public var inputCount: Int { contextLength * channels }
    public var outputCount: Int { predictionLength * channels }
    public var targetCount: Int { outputCount }
    public var weightCount: Int { channels }
    public var lossTerms: Int { outputCount }

    public func lossSum(output: UnsafePointer<Float>, target: UnsafePointer<Float>, weights: UnsafePointer<Float>?, samples: Int,
                        scale: Float, gradient: UnsafeMutablePointer<Float>?) -> Double {
        loss.weightedSum(prediction: output, target: target, weights: weights, samples: samples, perSample: outputCount,
                         channels: channels, scale: scale, gradient: gradient)
    }
}

extension ParameterStore {
    /// Elements of the tensors whose names start with `prefix`.
    public func count(prefix: String) -> Int {
        layout.views.filter { $0.name.hasPrefix(prefix) }.reduce(0) { $0 + $1.count }
    }
    /// Elements the optimizer updates.
    public var trainableCount: Int { trainableRanges.reduce(0) { $0 + $1.count } }
}

extension Int {
    /// 1907528 -> "1,907,528"
    public var grouped: String {
        let digits = String(self.magnitude)
        var out = ""
        for (index, character) in digits.reversed().enumerated() {
            if index > 0 && index % 3 == 0 { out.append(",") }
            out.append(character)
        }
        return (self < 0 ? "-" : "") + String(out.reversed())
    }
}
