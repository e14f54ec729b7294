import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The cause of a file-system error in words ("No space left on device", "Permission denied", "No such file
/// or directory"), instead of Foundation's NSCocoaErrorDomain dump. The caller names the path.
public func describe(_ error: Error) -> String {
    let ns = error as NSError
    if let posix = error as? POSIXError { return String(cString: strerror(posix.code.rawValue)) }
    if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
    if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    switch CocoaError.Code(rawValue: ns.code) {
    case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
    case .fileWriteNoPermission, .fileReadNoPermission: return String(cString: strerror(EACCES))
    case .fileWriteOutOfSpace: return String(cString: strerror(ENOSPC))
    case .fileWriteVolumeReadOnly: return String(cString: strerror(EROFS))
    default: return ns.localizedDescription
    }
}
