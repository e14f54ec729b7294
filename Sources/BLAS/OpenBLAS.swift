import CBLAS

#if canImport(Glibc)
import Glibc
#endif

/// What OpenBLAS is running with in this process, and the switch to the right kernels for this CPU.
public enum OpenBLAS {
    /// The kernel family in use, e.g. "Haswell" or "SkylakeX".
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// OpenBLAS's build description, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64".
    public static var configuration: String {
        guard let text = openblas_get_config() else { return "unknown" }
        return String(cString: text)
    }

    /// Threads OpenBLAS uses for one call.
    public static var threadCount: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// Gives each MPI rank on this node its share of the cores, unless the user set a thread count.
    /// Without this every rank starts one OpenBLAS thread per core and ranks on a node oversubscribe it.
    public static func shareCoresAmongLocalRanks() {
        guard getenv("OPENBLAS_NUM_THREADS") == nil, getenv("OMP_NUM_THREADS") == nil,
              let text = getenv("OMPI_COMM_WORLD_LOCAL_SIZE"), let localRanks = Int(String(cString: text)), localRanks > 0
        else { return }
        let cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        threadCount = max(1, cores / localRanks)
    }

    /// The environment variable OpenBLAS reads once, when the library loads, to choose its kernels.
    public static let coreTypeVariable = "OPENBLAS_CORETYPE"

    /// Set next to `OPENBLAS_CORETYPE` when ttm chose the kernels itself, so reports can say who chose.
    static let automaticChoiceMarker = "TTM_AUTOMATIC_OPENBLAS_CORETYPE"

    static let avx512Cores: Set<String> = ["skylakex", "cooperlake", "sapphirerapids"]
    /// The CPU features OpenBLAS's SkylakeX kernels are compiled for.
    static let skylakeXFeatures = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]

    /// Who chose the kernels in use.
    public static var kernelChoice: String {
        if getenv(automaticChoiceMarker) != nil { return "chosen by ttm for this CPU" }
        if getenv(coreTypeVariable) != nil { return "set by OPENBLAS_CORETYPE in the environment" }
        return "chosen by OpenBLAS"
    }

    /// Whether the CPU could run OpenBLAS's AVX-512 kernels.
    public static func supportsAVX512Kernels(cpuFlags: Set<String>) -> Bool {
        skylakeXFeatures.allSatisfy(cpuFlags.contains)
    }

    /// Whether `core` is one of OpenBLAS's AVX-512 kernel families.
    public static func isAVX512Core(_ core: String) -> Bool { avx512Cores.contains(core.lowercased()) }

    /// The kernels this process should use but does not, or nil when nothing needs to change.
    ///
    /// OpenBLAS 0.3.21 may not know a newer AVX-512 CPU and then falls back to its Haswell (AVX2) kernels,
    /// at about half the speed. A user's explicit `OPENBLAS_CORETYPE` always wins, whatever it names.
    public static func betterCoreType(
        environment: [String: String], cpuFlags: Set<String>, currentCore: String
    ) -> String? {
        if let chosen = environment[coreTypeVariable], !chosen.isEmpty { return nil }
        if isAVX512Core(currentCore) { return nil }
        guard supportsAVX512Kernels(cpuFlags: cpuFlags) else { return nil }
        return cpuFlags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
    }

    /// A warning for when the environment pins OpenBLAS to kernels slower than this CPU can run, or nil.
    /// ttm keeps the user's choice; it only says what the choice costs.
    public static func slowKernelWarning() -> String? {
        guard let chosen = getenv(coreTypeVariable).map({ String(cString: $0) }), !chosen.isEmpty,
              getenv(automaticChoiceMarker) == nil,
              !isAVX512Core(coreName), supportsAVX512Kernels(cpuFlags: cpuFlags())
        else { return nil }
        return "OPENBLAS_CORETYPE=\(chosen) pins OpenBLAS to its \(coreName) kernels on a CPU with AVX-512, "
            + "so sgemm runs at about half speed; unset OPENBLAS_CORETYPE to let ttm choose the AVX-512 kernels."
    }

    /// Flags of the first CPU in /proc/cpuinfo (empty where that file does not exist).
    public static func cpuFlags(cpuinfo path: String = "/proc/cpuinfo") -> Set<String> {
        guard let file = fopen(path, "r") else { return [] }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0 {
            let text = String(cString: line!)
            guard text.hasPrefix("flags"), let colon = text.firstIndex(of: ":") else { continue }
            return Set(text[text.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        }
        return []
    }

    /// Re-executes the current program with the AVX-512 kernels selected when OpenBLAS picked slower ones
    /// for this CPU. Call it first thing in `main`, before MPI or anything else starts: OpenBLAS chooses
    /// its kernels when it loads, so only a fresh image can change them. The process keeps its PID, its
    /// arguments and its environment (so it stays the same MPI rank). Returns when nothing needs to change
    /// or the re-exec failed (then the program goes on with the kernels it has).
    public static func reexecWithBestKernelsIfNeeded() {
        var environment: [String: String] = [:]
        if let value = getenv(coreTypeVariable) { environment[coreTypeVariable] = String(cString: value) }
        guard let core = betterCoreType(environment: environment, cpuFlags: cpuFlags(), currentCore: coreName)
        else { return }
        setenv(coreTypeVariable, core, 1)
        setenv(automaticChoiceMarker, core, 1)
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached when execv failed: keep running, and do not claim a core type we are not using.
        unsetenv(coreTypeVariable)
        unsetenv(automaticChoiceMarker)
    }
}
