import NN

/// A layer mapping x [batch, time, channels] to y [batch, time', channels], with explicit backward.
///
/// `forward` returns a pointer to the layer's own output buffer, valid until its next forward; the layer
/// remembers `x` for backward, so the caller keeps x alive and unchanged until then. `backward` adds the
/// input gradient into `dx` (when given) and accumulates parameter gradients in the store.
public protocol SequenceLayer: AnyObject {
    var inputLength: Int { get }
    var outputLength: Int { get }
    var channels: Int { get }
    func initialize(_ p: ParameterStore, seed: UInt64)
    func forward(_ x: UnsafePointer<Float>, batch: Int, mode: ForwardMode, _ p: ParameterStore) -> UnsafePointer<Float>
    func backward(_ dy: UnsafePointer<Float>, dx: UnsafeMutablePointer<Float>?, _ p: ParameterStore)
}
