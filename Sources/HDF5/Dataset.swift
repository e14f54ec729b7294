import CHDF5

/// An n-dimensional array of numbers stored in a file. Reads and writes check the element type and the
/// bounds first, so a mismatch is an error naming the dataset, never a silent conversion.
public final class Dataset {
    let handle: Handle
    let location: ObjectLocation
    public let shape: [Int]
    private let storedType: Result<ElementType, ElementType.UnsupportedType>

    init(handle: Handle, location: ObjectLocation) throws {
        self.handle = handle
        self.location = location
        let space = H5Dget_space(handle.id)
        guard space >= 0 else { throw HDF5Library.error("HDF5: cannot read the shape of dataset \(location)") }
        defer { H5Sclose(space) }
        let rank = try check(H5Sget_simple_extent_ndims(space), "HDF5: cannot read the shape of dataset \(location)")
        var dims = [hsize_t](repeating: 0, count: Int(rank))
        try check(H5Sget_simple_extent_dims(space, &dims, nil), "HDF5: cannot read the shape of dataset \(location)")
        shape = dims.map { Int($0) }
        let type = H5Dget_type(handle.id)
        guard type >= 0 else { throw HDF5Library.error("HDF5: cannot read the element type of dataset \(location)") }
        defer { H5Tclose(type) }
        storedType = ElementType.of(storedType: type)
    }

    /// The dataset's path inside its file.
    public var path: String { location.path }
    /// The element type stored, or nil when it is not one of ours (reading then throws and says what it is).
    public var elementType: ElementType? { try? storedType.get() }
    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
    public var attributes: Attributes { Attributes(owner: handle, location: location) }
    /// Bytes the dataset occupies in the file (after compression).
    public var storedByteCount: Int { Int(H5Dget_storage_size(handle.id)) }

    // MARK: reading

    /// Reads the whole dataset into `buffer`, which must hold at least `count` elements.
    public func read<T: HDF5Scalar>(into buffer: UnsafeMutableBufferPointer<T>) throws {
        try checkType(T.self)
        guard buffer.count >= count else {
            throw HDF5Error(message: "HDF5: buffer of \(buffer.count) elements is too small for dataset \(location) of shape \(shape)")
        }
        guard count > 0 else { return }
        try check(H5Dread(handle.id, T.elementType.nativeType, ttm_h5s_all(), ttm_h5s_all(), ttm_h5p_default(), buffer.baseAddress),
                  "HDF5: cannot read dataset \(location)")
    }

    /// Reads the whole dataset, in C (row-major) order.
    public func read<T: HDF5Scalar>(as type: T.Type = T.self) throws -> [T] {
        try checkType(T.self)
        return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
            try read(into: buffer)
            initialized = count
        }
    }

    /// Reads the block starting at `offset` with `count` elements along each dimension (a hyperslab) into
    /// `buffer`, row-major.
    public func read<T: HDF5Scalar>(offset: [Int], count: [Int], into buffer: UnsafeMutableBufferPointer<T>) throws {
        try checkType(T.self)
        let total = try checkBlock(offset: offset, count: count, bufferCount: buffer.count)
        guard total > 0 else { return }
        try withSelection(offset: offset, count: count) { memory, file in
            try check(H5Dread(handle.id, T.elementType.nativeType, memory, file, ttm_h5p_default(), buffer.baseAddress),
                      "HDF5: cannot read \(describe(offset, count)) of dataset \(location)")
        }
    }

    public func read<T: HDF5Scalar>(offset: [Int], count: [Int], as type: T.Type = T.self) throws -> [T] {
        let total = count.reduce(1, *)
        return try [T](unsafeUninitializedCapacity: total) { buffer, initialized in
            try read(offset: offset, count: count, into: buffer)
            initialized = total
        }
    }

    // MARK: writing

    /// Writes the whole dataset from `data` (row-major, exactly `count` elements).
    public func write<T: HDF5Scalar>(_ data: UnsafeBufferPointer<T>) throws {
        try checkType(T.self)
        guard data.count == count else {
            throw HDF5Error(message: "HDF5: \(data.count) elements given for dataset \(location) of shape \(shape)")
        }
        guard count > 0 else { return }
        try check(H5Dwrite(handle.id, T.elementType.nativeType, ttm_h5s_all(), ttm_h5s_all(), ttm_h5p_default(), data.baseAddress),
                  "HDF5: cannot write dataset \(location)")
    }

    public func write<T: HDF5Scalar>(_ data: [T]) throws {
        try data.withUnsafeBufferPointer { try write($0) }
    }

    /// Writes the block at `offset` of extent `count` from `data` (row-major).
    public func write<T: HDF5Scalar>(_ data: UnsafeBufferPointer<T>, offset: [Int], count: [Int]) throws {
        try checkType(T.self)
        let total = try checkBlock(offset: offset, count: count, bufferCount: data.count)
        guard total > 0 else { return }
        try withSelection(offset: offset, count: count) { memory, file in
            try check(H5Dwrite(handle.id, T.elementType.nativeType, memory, file, ttm_h5p_default(), data.baseAddress),
                      "HDF5: cannot write \(describe(offset, count)) of dataset \(location)")
        }
    }

    public func write<T: HDF5Scalar>(_ data: [T], offset: [Int], count: [Int]) throws {
        try data.withUnsafeBufferPointer { try write($0, offset: offset, count: count) }
    }

    // MARK: checks

    private func checkType<T: HDF5Scalar>(_ type: T.Type) throws {
        switch storedType {
        case .success(let stored) where stored == T.elementType: return
        case .success(let stored):
            throw HDF5Error(message: "HDF5: dataset \(location) holds \(stored), not \(T.elementType)")
        case .failure(let unsupported):
            throw HDF5Error(message: "HDF5: dataset \(location) holds \(unsupported.text), not \(T.elementType)")
        }
    }

    /// Validates a block against the shape and the buffer; returns its element count.
    private func checkBlock(offset: [Int], count: [Int], bufferCount: Int) throws -> Int {
        guard offset.count == shape.count, count.count == shape.count else {
            throw HDF5Error(message: "HDF5: block \(describe(offset, count)) has the wrong rank for dataset \(location) of shape \(shape)")
        }
        for d in shape.indices where offset[d] < 0 || count[d] < 0 || offset[d] + count[d] > shape[d] {
            throw HDF5Error(message: "HDF5: block \(describe(offset, count)) lies outside dataset \(location) of shape \(shape)")
        }
        let total = count.reduce(1, *)
        guard bufferCount >= total else {
            throw HDF5Error(message: "HDF5: buffer of \(bufferCount) elements is too small for block \(describe(offset, count)) of dataset \(location)")
        }
        return total
    }

    private func withSelection(offset: [Int], count: [Int], _ body: (hid_t, hid_t) throws -> Void) throws {
        let start = offset.map { hsize_t($0) }
        let extent = count.map { hsize_t($0) }
        let file = H5Dget_space(handle.id)
        guard file >= 0 else { throw HDF5Library.error("HDF5: cannot select in dataset \(location)") }
        defer { H5Sclose(file) }
        try check(H5Sselect_hyperslab(file, H5S_SELECT_SET, start, nil, extent, nil),
                  "HDF5: cannot select \(describe(offset, count)) of dataset \(location)")
        let memory = H5Screate_simple(Int32(extent.count), extent, nil)
        guard memory >= 0 else { throw HDF5Library.error("HDF5: cannot make memory space for dataset \(location)") }
        defer { H5Sclose(memory) }
        try body(memory, file)
    }

    private func describe(_ offset: [Int], _ count: [Int]) -> String {
        "[" + zip(offset, count).map { "\($0)..<\($0 + $1)" }.joined(separator: ", ") + "]"
    }
}
