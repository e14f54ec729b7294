import CMPI

/// A failed MPI call. MPI runs with `MPI_ERRORS_RETURN` on the world communicator, so failures come back
/// here instead of aborting the job; `message` is MPI's own error string.
public struct MPIError: Error, CustomStringConvertible, Sendable {
    public let function: String
    public let code: Int32
    public let message: String

    public var description: String { "\(function) failed: \(message) (MPI error code \(code))" }
}

/// Turns an MPI return code into a thrown `MPIError` carrying MPI's own description of it.
func check(_ code: Int32, _ function: String) throws {
    guard code != MPI_SUCCESS else { return }
    throw MPIError(function: function, code: code, message: errorString(code))
}

func errorString(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 512)
    var length: Int32 = 0
    guard MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS else { return "unknown MPI error" }
    return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
