/// An owned, growable block of Floats for activations and scratch space. It reallocates only when asked
/// for more than it holds, so a training loop with a fixed batch shape allocates in its first step only.
public final class FloatBuffer {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init(capacity: Int = 0) {
        self.capacity = max(capacity, 1)
        pointer = .allocate(capacity: self.capacity)
        pointer.initialize(repeating: 0, count: self.capacity)
    }

    deinit { pointer.deallocate() }

    /// Makes room for `count` elements; the contents are unspecified after growing.
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        grow(&pointer, capacity: &capacity, toHold: count)
        return pointer
    }

    public func zero(_ count: Int) {
        precondition(count <= capacity)
        pointer.update(repeating: 0, count: count)
    }

    public func array(_ count: Int) -> [Float] {
        precondition(count <= capacity)
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }
}

/// Replaces `pointer`'s block of `capacity` elements by a zeroed one of `count` when it holds fewer, so that
/// a training loop with a fixed batch shape allocates in its first step only (FloatBuffer, the dropout masks).
func grow<Element: BitwiseCopyable & ExpressibleByIntegerLiteral>(_ pointer: inout UnsafeMutablePointer<Element>, capacity: inout Int,
                                                                  toHold count: Int) {
    guard count > capacity else { return }
    pointer.deallocate()
    capacity = count
    pointer = .allocate(capacity: count)
    pointer.initialize(repeating: 0, count: count)
}
