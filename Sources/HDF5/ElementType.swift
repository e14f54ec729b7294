import CHDF5

/// Element types stored in our datasets and attributes.
public enum ElementType: String, Sendable, CustomStringConvertible {
    case float32, float64, int32, int64, uint8

    public var description: String { rawValue }

    /// The HDF5 native in-memory type for this element type.
    var nativeType: hid_t {
        switch self {
        case .float32: ttm_h5t_native_float()
        case .float64: ttm_h5t_native_double()
        case .int32: ttm_h5t_native_int32()
        case .int64: ttm_h5t_native_int64()
        case .uint8: ttm_h5t_native_uint8()
        }
    }

    /// The element type of a stored HDF5 type, or a description of it when it is none of ours.
    static func of(storedType type: hid_t) -> Result<ElementType, UnsupportedType> {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_FLOAT:
            if size == 4 { return .success(.float32) }
            if size == 8 { return .success(.float64) }
            return .failure(UnsupportedType(text: "float\(size * 8)"))
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            if signed && size == 4 { return .success(.int32) }
            if signed && size == 8 { return .success(.int64) }
            if !signed && size == 1 { return .success(.uint8) }
            return .failure(UnsupportedType(text: "\(signed ? "int" : "uint")\(size * 8)"))
        case H5T_STRING: return .failure(UnsupportedType(text: "string"))
        case H5T_COMPOUND: return .failure(UnsupportedType(text: "compound"))
        default: return .failure(UnsupportedType(text: "an unsupported HDF5 type class"))
        }
    }

    struct UnsupportedType: Error { let text: String }
}

/// Swift types that map one-to-one to an `ElementType`.
public protocol HDF5Scalar: Sendable {
    static var elementType: ElementType { get }
}

extension Float: HDF5Scalar { public static var elementType: ElementType { .float32 } }
extension Double: HDF5Scalar { public static var elementType: ElementType { .float64 } }
extension Int32: HDF5Scalar { public static var elementType: ElementType { .int32 } }
extension Int64: HDF5Scalar { public static var elementType: ElementType { .int64 } }
extension UInt8: HDF5Scalar { public static var elementType: ElementType { .uint8 } }
