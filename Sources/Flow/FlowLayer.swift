import NN

/// An invertible map of [rows, features] matrices whose rows belong to `samples` samples, in order and equally
/// many each; the log-determinant of its Jacobian is added per sample. MixerFlow's channel-mixing flows run on
/// the rows of a mixer matrix (one patch a row), its patch-mixing flows on the columns (the matrix transposed).
///
/// Forward saves what backward needs; `backward` writes (does not add to) dx and adds parameter gradients, given
/// dL/dy and dL/dlogdet per sample. Every method may run in place (x and y, or dy and dx, the same buffer).
public protocol FlowLayer: AnyObject {
    var features: Int { get }
    func forward(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, samples: Int,
                 logdet: UnsafeMutablePointer<Float>, _ p: ParameterStore)
    func inverse(_ y: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, rows: Int, _ p: ParameterStore)
    func backward(dy: UnsafePointer<Float>, dLogdet: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>,
                  rows: Int, samples: Int, _ p: ParameterStore)
}

/// A whole flow on images, x and z [batch, dimensions] (MixerFlow, Glow): what training, evaluation and sampling
/// need of either, and what their tests check alike.
public protocol FlowNetwork: AnyObject {
    var layout: ParameterLayout { get }
    /// Values per image: height · width · channels.
    var dimensions: Int { get }
    /// Fresh parameters (couplings as the identity); ActNorms start from the first batch instead.
    func initialize(_ p: ParameterStore, seed: UInt64)
    /// z = f(x) and logdet += log|det ∂f/∂x| per image; `initializing` starts the ActNorms from this batch.
    func forward(_ x: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, batch: Int, logdet: UnsafeMutablePointer<Float>,
                 _ p: ParameterStore, initializing: ActNormStart?)
    func inverse(_ z: UnsafePointer<Float>, _ x: UnsafeMutablePointer<Float>, batch: Int, _ p: ParameterStore)
    /// dx from dL/dz and dL/dlogdet of the last forward; parameter gradients accumulate.
    func backward(dz: UnsafePointer<Float>, dLogdet: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>, batch: Int, _ p: ParameterStore)
}

/// The ActNorms' data-dependent start on a training run's first batch: over this process's images, or with
/// `statistics` over the images of every rank sharing the global batch (so 1 and N ranks start alike).
public struct ActNormStart {
    public var statistics: (any BatchStatisticsReducer)?
    public init(statistics: (any BatchStatisticsReducer)? = nil) { self.statistics = statistics }
}
