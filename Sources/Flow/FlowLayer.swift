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
