import CHDF5

#if canImport(Glibc)
import Glibc
#endif

/// The attributes of a group or dataset: small named values (strings, numbers, short numeric arrays).
/// Setting a name that exists replaces it.
public struct Attributes {
    let owner: Handle
    let location: ObjectLocation

    public func contains(_ name: String) -> Bool {
        let found = H5Aexists(owner.id, name) > 0
        H5Eclear2(ttm_h5e_default())
        return found
    }

    public func names() throws -> [String] {
        var info = H5O_info_t()
        try check(H5Oget_info2(owner.id, &info, UInt32(H5O_INFO_NUM_ATTRS)), "HDF5: cannot list attributes of \(location)")
        var result: [String] = []
        for index in 0..<info.num_attrs {
            let length = try check(H5Aget_name_by_idx(owner.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, nil, 0, ttm_h5p_default()),
                                   "HDF5: cannot list attributes of \(location)")
            var buffer = [CChar](repeating: 0, count: Int(length) + 1)
            try check(H5Aget_name_by_idx(owner.id, ".", H5_INDEX_NAME, H5_ITER_INC, index, &buffer, buffer.count, ttm_h5p_default()),
                      "HDF5: cannot list attributes of \(location)")
            result.append(String(nullTerminated: buffer))
        }
        return result
    }

    // MARK: writing

    /// Stores a UTF-8 string (variable length, as h5py writes `str`).
    public func set(_ name: String, to value: String) throws {
        let type = try stringType(size: ttm_h5t_variable())
        defer { H5Tclose(type) }
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        try withNewAttribute(name, type: type, space: space) { attribute in
            try value.withCString { text in
                var pointer: UnsafePointer<CChar>? = text
                try check(H5Awrite(attribute, type, &pointer), "HDF5: cannot write attribute '\(name)' of \(location)")
            }
        }
    }

    /// Stores a list of UTF-8 strings (variable length; h5py reads it as an array of str).
    public func set(_ name: String, to values: [String]) throws {
        let type = try stringType(size: ttm_h5t_variable())
        defer { H5Tclose(type) }
        var dims = [hsize_t(values.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        try withNewAttribute(name, type: type, space: space) { attribute in
            let copies = values.map { strdup($0) }
            defer { copies.forEach { free($0) } }
            var pointers = copies.map { UnsafePointer<CChar>($0) }
            try check(H5Awrite(attribute, type, &pointers), "HDF5: cannot write attribute '\(name)' of \(location)")
        }
    }

    /// Reads a list of variable-length strings (as written by `set(_:to: [String])` or h5py).
    public func strings(_ name: String) throws -> [String] {
        try withAttribute(name) { attribute in
            let stored = H5Aget_type(attribute)
            defer { H5Tclose(stored) }
            guard H5Tget_class(stored) == H5T_STRING, H5Tis_variable_str(stored) > 0 else {
                throw HDF5Error(message: "HDF5: attribute '\(name)' of \(location) is not a list of variable-length strings")
            }
            let space = H5Aget_space(attribute)
            defer { H5Sclose(space) }
            let count = Int(try check(H5Sget_simple_extent_npoints(space), "HDF5: cannot size attribute '\(name)' of \(location)"))
            let memory = try stringType(size: ttm_h5t_variable(), characterSet: H5Tget_cset(stored))
            defer { H5Tclose(memory) }
            var pointers = [UnsafeMutablePointer<CChar>?](repeating: nil, count: count)
            try check(H5Aread(attribute, memory, &pointers), "HDF5: cannot read attribute '\(name)' of \(location)")
            defer { pointers.forEach { H5free_memory($0) } }
            return pointers.map { $0.map { String(cString: $0) } ?? "" }
        }
    }

    public func set<T: HDF5Scalar>(_ name: String, to value: T) throws {
        let space = H5Screate(H5S_SCALAR)
        defer { H5Sclose(space) }
        try withNewAttribute(name, type: T.elementType.nativeType, space: space) { attribute in
            try withUnsafePointer(to: value) { pointer in
                try check(H5Awrite(attribute, T.elementType.nativeType, pointer), "HDF5: cannot write attribute '\(name)' of \(location)")
            }
        }
    }

    public func set<T: HDF5Scalar>(_ name: String, to values: [T]) throws {
        var dims = [hsize_t(values.count)]
        let space = H5Screate_simple(1, &dims, nil)
        defer { H5Sclose(space) }
        try withNewAttribute(name, type: T.elementType.nativeType, space: space) { attribute in
            try values.withUnsafeBufferPointer { buffer in
                try check(H5Awrite(attribute, T.elementType.nativeType, buffer.baseAddress), "HDF5: cannot write attribute '\(name)' of \(location)")
            }
        }
    }

    // MARK: reading

    /// Reads a string attribute, fixed or variable length.
    public func string(_ name: String) throws -> String {
        try withAttribute(name) { attribute in
            let stored = H5Aget_type(attribute)
            defer { H5Tclose(stored) }
            guard H5Tget_class(stored) == H5T_STRING else {
                throw HDF5Error(message: "HDF5: attribute '\(name)' of \(location) is not a string")
            }
            // The memory type must carry the stored character set: HDF5 converts neither ASCII <-> UTF-8.
            let characterSet = H5Tget_cset(stored)
            if H5Tis_variable_str(stored) > 0 {
                let memory = try stringType(size: ttm_h5t_variable(), characterSet: characterSet)
                defer { H5Tclose(memory) }
                var pointer: UnsafeMutablePointer<CChar>? = nil
                try check(H5Aread(attribute, memory, &pointer), "HDF5: cannot read attribute '\(name)' of \(location)")
                defer { H5free_memory(pointer) }
                return pointer.map { String(cString: $0) } ?? ""
            }
            let size = H5Tget_size(stored)
            let memory = try stringType(size: size + 1, characterSet: characterSet)
            defer { H5Tclose(memory) }
            var buffer = [CChar](repeating: 0, count: size + 1)
            try check(H5Aread(attribute, memory, &buffer), "HDF5: cannot read attribute '\(name)' of \(location)")
            return String(nullTerminated: buffer)
        }
    }

    public func value<T: HDF5Scalar>(_ name: String, as type: T.Type = T.self) throws -> T {
        let all = try values(name, as: T.self)
        guard all.count == 1 else {
            throw HDF5Error(message: "HDF5: attribute '\(name)' of \(location) holds \(all.count) values, not one")
        }
        return all[0]
    }

    public func values<T: HDF5Scalar>(_ name: String, as type: T.Type = T.self) throws -> [T] {
        try withAttribute(name) { attribute in
            let stored = H5Aget_type(attribute)
            defer { H5Tclose(stored) }
            switch ElementType.of(storedType: stored) {
            case .success(let element) where element == T.elementType: break
            case .success(let element):
                throw HDF5Error(message: "HDF5: attribute '\(name)' of \(location) holds \(element), not \(T.elementType)")
            case .failure(let unsupported):
                throw HDF5Error(message: "HDF5: attribute '\(name)' of \(location) holds \(unsupported.text), not \(T.elementType)")
            }
            let space = H5Aget_space(attribute)
            defer { H5Sclose(space) }
            let count = Int(try check(H5Sget_simple_extent_npoints(space), "HDF5: cannot size attribute '\(name)' of \(location)"))
            return try [T](unsafeUninitializedCapacity: count) { buffer, initialized in
                if count > 0 {
                    try check(H5Aread(attribute, T.elementType.nativeType, buffer.baseAddress),
                              "HDF5: cannot read attribute '\(name)' of \(location)")
                }
                initialized = count
            }
        }
    }

    // MARK: helpers

    private func stringType(size: Int, characterSet: H5T_cset_t = H5T_CSET_UTF8) throws -> hid_t {
        let type = H5Tcopy(ttm_h5t_c_s1())
        guard type >= 0 else { throw HDF5Library.error("HDF5: cannot make a string type") }
        H5Tset_size(type, size)
        H5Tset_cset(type, characterSet)
        H5Tset_strpad(type, H5T_STR_NULLTERM)
        return type
    }

    private func withNewAttribute(_ name: String, type: hid_t, space: hid_t, _ body: (hid_t) throws -> Void) throws {
        if contains(name) {
            try check(H5Adelete(owner.id, name), "HDF5: cannot replace attribute '\(name)' of \(location)")
        }
        let attribute = H5Acreate2(owner.id, name, type, space, ttm_h5p_default(), ttm_h5p_default())
        guard attribute >= 0 else { throw HDF5Library.error("HDF5: cannot create attribute '\(name)' of \(location)") }
        defer { H5Aclose(attribute) }
        try body(attribute)
    }

    private func withAttribute<R>(_ name: String, _ body: (hid_t) throws -> R) throws -> R {
        guard contains(name) else { throw HDF5Error(message: "HDF5: no attribute '\(name)' on \(location)") }
        let attribute = H5Aopen(owner.id, name, ttm_h5p_default())
        guard attribute >= 0 else { throw HDF5Library.error("HDF5: cannot open attribute '\(name)' of \(location)") }
        defer { H5Aclose(attribute) }
        return try body(attribute)
    }
}
