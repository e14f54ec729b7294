import CBLAS
import Synchronization

/// Floating-point operations issued through `sgemm` since the process started (2·m·n·k per call), and the time
/// spent inside it, so that benchmarks can report achieved GFLOP/s and the time outside GEMM without counting
/// by hand. The clock is read only while `timing` is on.
public enum GEMMStatistics {
    static let counter = Atomic<Int>(0)
    static let nanoseconds = Atomic<Int>(0)
    nonisolated(unsafe) public static var timing = false
    public static var flops: Int { counter.load(ordering: .relaxed) }
    /// Seconds spent in sgemm while `timing` was on.
    public static var seconds: Double { Double(nanoseconds.load(ordering: .relaxed)) * 1e-9 }

    /// The clock at the start of a GEMM, read only while `timing` is on.
    @inline(__always)
    public static func start() -> ContinuousClock.Instant? { timing ? ContinuousClock.now : nil }

    /// Counts one GEMM of `flops` that began at `started` (GEMMs not done by sgemm: NN's small kernels).
    @inline(__always)
    public static func record(flops: Int, since started: ContinuousClock.Instant?) {
        counter.add(flops, ordering: .relaxed)
        guard let started else { return }
        let elapsed = ContinuousClock.now - started
        nanoseconds.add(Int(elapsed.components.seconds) * 1_000_000_000 + Int(elapsed.components.attoseconds / 1_000_000_000), ordering: .relaxed)
    }
}

/// Whether a GEMM operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none, transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// Row-major single-precision GEMM through OpenBLAS: `C = alpha * op(A) * op(B) + beta * C`, with
/// op(A) of shape [m, k], op(B) of shape [k, n] and C of shape [m, n].
///
/// `lda`, `ldb`, `ldc` are row strides in elements: A is stored [m, k] (or [k, m] when transposed) with rows
/// `lda` apart, and likewise for B and C. Bad strides are a programming error and stop the process.
public func sgemm(
    _ transA: Transpose, _ transB: Transpose,
    m: Int, n: Int, k: Int,
    alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    precondition(m >= 0 && n >= 0 && k >= 0, "sgemm: negative dimension m=\(m) n=\(n) k=\(k)")
    precondition(lda >= max(1, transA == .none ? k : m), "sgemm: lda=\(lda) too small")
    precondition(ldb >= max(1, transB == .none ? n : k), "sgemm: ldb=\(ldb) too small")
    precondition(ldc >= max(1, n), "sgemm: ldc=\(ldc) too small")
    precondition(max(m, n, k, lda, ldb, ldc) <= Int(Int32.max), "sgemm: dimension exceeds 32 bits")
    if m == 0 || n == 0 { return }
    let started = GEMMStatistics.start()
    cblas_sgemm(
        CblasRowMajor, transA.cblas, transB.cblas,
        Int32(m), Int32(n), Int32(k),
        alpha, a, Int32(lda), b, Int32(ldb),
        beta, c, Int32(ldc))
    GEMMStatistics.record(flops: 2 * m * n * k, since: started)
}
