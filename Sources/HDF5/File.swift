import CHDF5

/// An HDF5 file. Objects opened from it keep it open until they are gone; `close()` flushes and closes it.
public final class File {
    public enum AccessMode: Sendable { case readOnly, readWrite }

    public let path: String
    public let root: Group
    private let handle: Handle

    private init(path: String, id: hid_t) {
        self.path = path
        self.handle = Handle(id, .file)
        self.root = Group(handle: handle, location: ObjectLocation(file: path, path: "/"))
    }

    /// Creates a new file; an existing file at `path` is an error unless `overwrite` is true.
    ///
    /// The file's own (root) attributes are stored densely (in a heap, the HDF5 1.8 file format, which h5py
    /// reads): the default compact storage keeps them in a 64 KB object header, which a shard's per-series
    /// lists (ids, timestamps) of a few thousand series overflow.
    public static func create(_ path: String, overwrite: Bool = false) throws -> File {
        HDF5Library.ensureOpen()
        let flags = overwrite ? ttm_h5f_acc_trunc() : ttm_h5f_acc_excl()
        let creation = H5Pcreate(ttm_h5p_file_create()), access = H5Pcreate(ttm_h5p_file_access())
        defer { H5Pclose(creation); H5Pclose(access) }
        guard creation >= 0, access >= 0, H5Pset_attr_phase_change(creation, 0, 0) >= 0,
              H5Pset_libver_bounds(access, H5F_LIBVER_V18, ttm_h5f_libver_latest()) >= 0 else {
            throw HDF5Library.error("HDF5: cannot set up the creation of '\(path)'")
        }
        let id = H5Fcreate(path, flags, creation, access)
        guard id >= 0 else { throw HDF5Library.error("HDF5: cannot create file '\(path)'") }
        return File(path: path, id: id)
    }

    /// Opens an existing file.
    public static func open(_ path: String, mode: AccessMode = .readOnly) throws -> File {
        HDF5Library.ensureOpen()
        let flags = mode == .readOnly ? ttm_h5f_acc_rdonly() : ttm_h5f_acc_rdwr()
        let id = H5Fopen(path, flags, ttm_h5p_default())
        guard id >= 0 else { throw HDF5Library.error("HDF5: cannot open file '\(path)'") }
        return File(path: path, id: id)
    }

    /// Writes everything buffered for this file to disk.
    public func flush() throws {
        try check(H5Fflush(handle.id, H5F_SCOPE_GLOBAL), "HDF5: cannot flush '\(path)'")
    }

    /// Flushes and releases the file. Objects still held from it keep it open until they are released.
    public func close() throws {
        guard handle.isOpen else { return }
        try flush()
        try check(handle.close(), "HDF5: cannot close '\(path)'")
    }

    // Conveniences for the root group.
    public var attributes: Attributes { root.attributes }
    public func createGroup(_ name: String) throws -> Group { try root.createGroup(name) }
    public func openGroup(_ name: String) throws -> Group { try root.openGroup(name) }
    public func contains(_ name: String) -> Bool { root.contains(name) }
    public func openDataset(_ name: String) throws -> Dataset { try root.openDataset(name) }
    public func createDataset<T: HDF5Scalar>(
        _ name: String, of type: T.Type, shape: [Int], chunks: [Int]? = nil, deflateLevel: Int? = nil
    ) throws -> Dataset {
        try root.createDataset(name, of: type, shape: shape, chunks: chunks, deflateLevel: deflateLevel)
    }
}
