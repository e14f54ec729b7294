import CHDF5

/// A group: a folder of datasets and groups inside a file. Names may be paths ("a/b").
public final class Group {
    let handle: Handle
    let location: ObjectLocation

    init(handle: Handle, location: ObjectLocation) {
        self.handle = handle
        self.location = location
    }

    /// The group's path inside its file, e.g. "/" or "/series".
    public var path: String { location.path }
    public var attributes: Attributes { Attributes(owner: handle, location: location) }

    public func createGroup(_ name: String) throws -> Group {
        let target = location.child(name)
        let id = H5Gcreate2(handle.id, name, ttm_h5p_default(), ttm_h5p_default(), ttm_h5p_default())
        guard id >= 0 else { throw HDF5Library.error("HDF5: cannot create group \(target)") }
        return Group(handle: Handle(id, .group), location: target)
    }

    public func openGroup(_ name: String) throws -> Group {
        let target = location.child(name)
        guard contains(name) else { throw HDF5Error(message: "HDF5: no group \(target)") }
        let id = H5Gopen2(handle.id, name, ttm_h5p_default())
        guard id >= 0 else { throw HDF5Library.error("HDF5: cannot open group \(target)") }
        return Group(handle: Handle(id, .group), location: target)
    }

    /// Whether a link `name` (or every step of a path "a/b") exists below this group.
    public func contains(_ name: String) -> Bool {
        var prefix = ""
        for part in name.split(separator: "/") {
            prefix += prefix.isEmpty ? String(part) : "/" + part
            if H5Lexists(handle.id, prefix, ttm_h5p_default()) <= 0 {
                H5Eclear2(ttm_h5e_default())
                return false
            }
        }
        return !prefix.isEmpty
    }

    /// Names of the links directly below this group, in name order.
    public func childNames() throws -> [String] {
        var info = H5G_info_t()
        try check(H5Gget_info(handle.id, &info), "HDF5: cannot list group \(location)")
        var names: [String] = []
        for index in 0..<info.nlinks {
            let length = try check(
                H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, ttm_h5p_default()),
                "HDF5: cannot list group \(location)")
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            try check(
                H5Lget_name_by_idx(handle.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, ttm_h5p_default()),
                "HDF5: cannot list group \(location)")
            names.append(String(nullTerminated: buffer))
        }
        return names
    }

    /// Creates a dataset of `shape`. With `chunks` it is stored in chunks of that shape (needed for
    /// compression); `deflateLevel` (0-9) compresses each chunk with zlib, after a byte shuffle.
    public func createDataset<T: HDF5Scalar>(
        _ name: String, of type: T.Type, shape: [Int], chunks: [Int]? = nil, deflateLevel: Int? = nil
    ) throws -> Dataset {
        let target = location.child(name)
        guard !shape.isEmpty, shape.allSatisfy({ $0 >= 0 }) else {
            throw HDF5Error(message: "HDF5: invalid shape \(shape) for dataset \(target)")
        }
        if let chunks {
            guard chunks.count == shape.count, chunks.allSatisfy({ $0 > 0 }) else {
                throw HDF5Error(message: "HDF5: chunk shape \(chunks) does not fit dataset shape \(shape) of \(target)")
            }
        }
        if let level = deflateLevel {
            guard (0...9).contains(level) else {
                throw HDF5Error(message: "HDF5: deflate level \(level) for \(target) is not in 0...9")
            }
            guard chunks != nil else {
                throw HDF5Error(message: "HDF5: compression of \(target) needs a chunk shape")
            }
        }
        let dims = shape.map { hsize_t($0) }
        let space = H5Screate_simple(Int32(dims.count), dims, nil)
        guard space >= 0 else { throw HDF5Library.error("HDF5: cannot make dataspace for \(target)") }
        defer { H5Sclose(space) }
        let properties = H5Pcreate(ttm_h5p_dataset_create())
        guard properties >= 0 else { throw HDF5Library.error("HDF5: cannot make properties for \(target)") }
        defer { H5Pclose(properties) }
        if let chunks {
            // HDF5 refuses chunks larger than a fixed dimension; clamp so that small datasets still work.
            let chunkDims = zip(chunks, shape).map { hsize_t(max(1, min($0, $1))) }
            try check(H5Pset_chunk(properties, Int32(chunkDims.count), chunkDims), "HDF5: cannot set chunks of \(target)")
            if let level = deflateLevel {
                try check(H5Pset_shuffle(properties), "HDF5: cannot set shuffle filter of \(target)")
                try check(H5Pset_deflate(properties, UInt32(level)), "HDF5: cannot set deflate filter of \(target)")
            }
        }
        let id = H5Dcreate2(handle.id, name, T.elementType.nativeType, space,
                            ttm_h5p_default(), properties, ttm_h5p_default())
        guard id >= 0 else { throw HDF5Library.error("HDF5: cannot create dataset \(target)") }
        return try Dataset(handle: Handle(id, .dataset), location: target)
    }

    public func openDataset(_ name: String) throws -> Dataset {
        let target = location.child(name)
        guard contains(name) else { throw HDF5Error(message: "HDF5: no dataset \(target)") }
        let id = H5Dopen2(handle.id, name, ttm_h5p_default())
        guard id >= 0 else { throw HDF5Library.error("HDF5: cannot open dataset \(target)") }
        return try Dataset(handle: Handle(id, .dataset), location: target)
    }
}
