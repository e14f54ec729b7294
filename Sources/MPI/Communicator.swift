import CMPI

/// A group of ranks that talk to each other; `world()` is every rank `mpirun` started (or just this process).
///
/// Collective calls must be made by every rank of the communicator in the same order, with buffers of the
/// same length. Errors are thrown, never turned into an abort.
public struct Communicator: @unchecked Sendable {  // an MPI_Comm is a process-wide handle, valid on any thread
    let handle: MPI_Comm
    public let rank: Int
    public let size: Int

    /// The world communicator; initialises MPI on first use.
    public static func world() throws -> Communicator {
        try MPIEnvironment.initialize()
        return try Communicator(handle: ttm_mpi_comm_world())
    }

    init(handle: MPI_Comm) throws {
        var rank: Int32 = 0
        var size: Int32 = 0
        try check(MPI_Comm_rank(handle, &rank), "MPI_Comm_rank")
        try check(MPI_Comm_size(handle, &size), "MPI_Comm_size")
        self.handle = handle
        self.rank = Int(rank)
        self.size = Int(size)
    }

    public var isRoot: Bool { rank == 0 }

    public func barrier() throws {
        try check(MPI_Barrier(handle), "MPI_Barrier")
    }

    // MARK: broadcast

    /// Overwrites `buffer` on every rank with its contents on `root`.
    public func broadcast<T: MPIScalar>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        try forEachChunk(of: buffer.count) { start, count in
            try check(
                MPI_Bcast(buffer.baseAddress! + start, count, T.mpiScalarKind.datatype, Int32(clamping: root), handle),
                "MPI_Bcast")
        }
    }

    /// Makes `array` on every rank equal to `array` on `root`, resizing it where the length differs.
    public func broadcast<T: MPIScalar & Numeric>(_ array: inout [T], root: Int) throws {
        var length = Int64(array.count)
        try withUnsafeMutablePointer(to: &length) { try broadcast(UnsafeMutableBufferPointer(start: $0, count: 1), root: root) }
        if array.count != Int(length) { array = [T](repeating: 0, count: Int(length)) }
        try array.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    // MARK: allreduce

    /// `output[i] = op over ranks of input[i]`, on every rank.
    public func allreduce<T: MPIScalar>(
        _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>, op: ReductionOp
    ) throws {
        precondition(output.count >= input.count, "allreduce: output shorter than input")
        try forEachChunk(of: input.count) { start, count in
            try check(
                MPI_Allreduce(input.baseAddress! + start, output.baseAddress! + start, count,
                              T.mpiScalarKind.datatype, op.handle, handle),
                "MPI_Allreduce")
        }
    }

    /// In-place allreduce: `buffer[i]` becomes `op` over every rank's `buffer[i]`.
    public func allreduce<T: MPIScalar>(inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp) throws {
        try forEachChunk(of: buffer.count) { start, count in
            try check(
                MPI_Allreduce(ttm_mpi_in_place(), buffer.baseAddress! + start, count,
                              T.mpiScalarKind.datatype, op.handle, handle),
                "MPI_Allreduce")
        }
    }

    public func allreduce<T: MPIScalar>(_ array: inout [T], op: ReductionOp) throws {
        try array.withUnsafeMutableBufferPointer { try allreduce(inPlace: $0, op: op) }
    }

    public func allreduce<T: MPIScalar>(_ value: T, op: ReductionOp) throws -> T {
        var value = value
        try withUnsafeMutablePointer(to: &value) { try allreduce(inPlace: UnsafeMutableBufferPointer(start: $0, count: 1), op: op) }
        return value
    }

    /// Starts an in-place allreduce and returns at once; the result is in `buffer` after `wait()`.
    /// The caller keeps `buffer` alive and untouched until then.
    public func startAllreduce<T: MPIScalar>(
        inPlace buffer: UnsafeMutableBufferPointer<T>, op: ReductionOp
    ) throws -> AllreduceRequest {
        let request = AllreduceRequest()
        try forEachChunk(of: buffer.count) { start, count in
            var raw: MPI_Request? = ttm_mpi_request_null()
            try check(
                MPI_Iallreduce(ttm_mpi_in_place(), buffer.baseAddress! + start, count,
                               T.mpiScalarKind.datatype, op.handle, handle, &raw),
                "MPI_Iallreduce")
            request.pending.append(raw)
        }
        return request
    }

    /// Ends the whole job (every rank) with `exitCode`. For failures after which ranks cannot agree.
    public func abort(exitCode: Int32) -> Never {
        MPI_Abort(handle, exitCode)
        fatalError("MPI_Abort returned")
    }

    /// MPI counts are 32-bit; longer buffers go in slices.
    private func forEachChunk(of total: Int, _ body: (Int, Int32) throws -> Void) throws {
        if total == 0 { return }
        let limit = Int(Int32.max)
        var start = 0
        while start < total {
            let count = min(limit, total - start)
            try body(start, Int32(count))
            start += count
        }
    }
}

/// An allreduce in flight. `wait()` completes it; dropping an unwaited request waits for it too, so a
/// buffer is never written behind the caller's back after the request is gone.
public final class AllreduceRequest {
    fileprivate var pending: [MPI_Request?] = []

    fileprivate init() {}

    /// Blocks until the reduction has landed in the buffer.
    public func wait() throws {
        while !pending.isEmpty {
            var raw = pending.removeFirst()
            try check(MPI_Wait(&raw, ttm_mpi_status_ignore()), "MPI_Wait")
        }
    }

    /// True once the reduction has completed (then `wait()` returns at once).
    public func test() throws -> Bool {
        while let first = pending.first {
            var raw = first
            var done: Int32 = 0
            try check(MPI_Test(&raw, &done, ttm_mpi_status_ignore()), "MPI_Test")
            if done == 0 { pending[0] = raw; return false }
            pending.removeFirst()
        }
        return true
    }

    deinit {
        for index in pending.indices { MPI_Wait(&pending[index], ttm_mpi_status_ignore()) }
    }
}
