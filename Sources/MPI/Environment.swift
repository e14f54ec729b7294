import CMPI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Process-wide MPI state: initialised once (under `mpirun` or as a singleton of size 1 without it) and
/// finalised when the process exits.
public enum MPIEnvironment {
    private enum State { case uninitialized, initialized, finalized }
    private static let state = Mutex(State.uninitialized)

    /// Initialises MPI if it is not yet. Safe to call any number of times from any thread.
    /// Requests `MPI_THREAD_FUNNELED`: only the thread that initialised MPI makes MPI calls.
    public static func initialize() throws {
        try state.withLock { state in
            switch state {
            case .initialized: return
            case .finalized:
                throw MPIError(function: "MPI_Init_thread", code: -1, message: "MPI was already finalized in this process")
            case .uninitialized: break
            }
            var already: Int32 = 0
            MPI_Initialized(&already)
            if already == 0 {
                var provided: Int32 = 0
                try check(MPI_Init_thread(nil, nil, Int32(MPI_THREAD_FUNNELED), &provided), "MPI_Init_thread")
                atexit { MPIEnvironment.finalize() }
            }
            try check(MPI_Comm_set_errhandler(ttm_mpi_comm_world(), ttm_mpi_errors_return()), "MPI_Comm_set_errhandler")
            state = .initialized
        }
    }

    /// Finalises MPI. Runs automatically at exit; calling it earlier is allowed, after which no MPI call works.
    public static func finalize() {
        state.withLock { state in
            guard case .initialized = state else { return }
            var done: Int32 = 0
            MPI_Finalized(&done)
            if done == 0 { MPI_Finalize() }
            state = .finalized
        }
    }

    public static var isInitialized: Bool {
        state.withLock { if case .initialized = $0 { return true } else { return false } }
    }

    /// The MPI library's version string (e.g. "Open MPI v4.1.4, ...").
    public static var libraryVersion: String {
        var buffer = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        MPI_Get_library_version(&buffer, &length)
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingTrailingWhitespace()
    }
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var s = Substring(self)
        while let last = s.last, last.isWhitespace || last == "\0" { s = s.dropLast() }
        return String(s)
    }
}
