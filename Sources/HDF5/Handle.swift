import CHDF5

/// Owns one HDF5 identifier and closes it exactly once.
final class Handle {
    enum Kind { case file, group, dataset }

    private(set) var id: hid_t
    let kind: Kind

    init(_ id: hid_t, _ kind: Kind) {
        self.id = id
        self.kind = kind
    }

    var isOpen: Bool { id >= 0 }

    /// Closes the identifier; returns HDF5's status (negative on failure). Later calls do nothing.
    @discardableResult
    func close() -> herr_t {
        guard id >= 0 else { return 0 }
        let status: herr_t
        switch kind {
        case .file: status = H5Fclose(id)
        case .group: status = H5Gclose(id)
        case .dataset: status = H5Dclose(id)
        }
        id = -1
        return status
    }

    deinit { close() }
}

/// Where an object lives, for error messages: "'/series/values' in 'shards/part-0.h5'".
struct ObjectLocation: Sendable, CustomStringConvertible {
    let file: String
    let path: String

    var description: String { "'\(path)' in '\(file)'" }

    func child(_ name: String) -> ObjectLocation {
        ObjectLocation(file: file, path: path.hasSuffix("/") ? path + name : path + "/" + name)
    }
}
