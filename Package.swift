// swift-tools-version:6.0
import PackageDescription
import Foundation

// The numeric modules are compiled for x86-64-v3 (AVX2, FMA, 2013 on; both the AVX2-only EPYC and the AVX-512
// Xeon machines we run on): Swift's default baseline is SSE2, four lanes, which halved the speed of every
// elementwise loop (GELU, softmax, LayerNorm, AdamW). Swift does not contract a*b+c into an FMA; the few FMAs are
// written out (`addingProduct`, in VectorMath's polynomials) and are exactly rounded by IEEE 754 wherever they run
// (the baseline build calls libm's fmaf), so the results are bit-identical to the baseline build. `ttm` checks the CPU at start; TTM_PORTABLE=1 at build
// time gives a baseline build for older CPUs.
#if arch(x86_64)
let vectorISA: [SwiftSetting] = ProcessInfo.processInfo.environment["TTM_PORTABLE"] == "1"
    ? [] : [.unsafeFlags(["-Xcc", "-march=x86-64-v3"]), .define("TTM_X86_64_V3")]
#else
let vectorISA: [SwiftSetting] = []
#endif

// Kernels and KernelsAVX512 are optimised in debug builds too: their generic loops would otherwise run
// unspecialised, a hundred times slower, and the debug test suite runs whole models through them.
let alwaysOptimized: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

// The elementwise loops (Kernels) are also compiled for x86-64-v4 with 512-bit vectors (KernelsAVX512); NN calls
// that build where the CPU has AVX-512 (checked at run time by CPUFeatures) and gets the same bits, twice as many
// lanes. LLVM keeps x86-64-v4 code to 256-bit vectors unless told to prefer 512.
#if arch(x86_64)
let wideISA: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v4", "-Xcc", "-mprefer-vector-width=512"])]
#else
let wideISA: [SwiftSetting] = []
#endif

// System libraries come from Debian's -dev packages (launch/setup.sh installs them); each is reached through a
// system-library target that holds only a module map and a small shim header.
let package = Package(
    name: "ttm",
    products: [
        .executable(name: "ttm", targets: ["ttm"]),
        .library(name: "MPI", targets: ["MPI"]),
        .library(name: "HDF5", targets: ["HDF5"]),
        .library(name: "BLAS", targets: ["BLAS"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "Optimizers", targets: ["Optimizers"]),
        .library(name: "Checkpoint", targets: ["Checkpoint"]),
        .library(name: "TTM", targets: ["TTM"]),
        .library(name: "TSMixer", targets: ["TSMixer"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Corpus", targets: ["Corpus"]),
        .library(name: "Flow", targets: ["Flow"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(
            name: "CBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5-serial",
            providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),

        .target(name: "MPI", dependencies: ["CMPI"]),
        .target(name: "HDF5", dependencies: ["CHDF5"]),
        .target(name: "BLAS", dependencies: ["CBLAS"]),
        // Layers, the model contract (TrainableModel, Forecaster), losses, config-field reading.
        .target(name: "NN", dependencies: ["BLAS", "Kernels", "KernelsAVX512", "CPUFeatures"], swiftSettings: vectorISA),
        // Elementwise math, loops and the small-operand GEMM; the same loops compiled for AVX-512.
        .target(name: "Kernels", swiftSettings: vectorISA + alwaysOptimized),
        .target(name: "KernelsAVX512", dependencies: ["Kernels"], swiftSettings: wideISA + alwaysOptimized),
        // One C function: whether the CPU (and OS) support AVX-512.
        .target(name: "CPUFeatures"),
        // File formats: safetensors, .npy, atomic file and folder writes.
        .target(name: "Checkpoint"),
        .target(name: "Optimizers", dependencies: ["NN", "BLAS", "Checkpoint"], swiftSettings: vectorISA),
        // The models, each in its own module, each adopting NN's contract.
        .target(name: "TTM", dependencies: ["NN", "Checkpoint"], swiftSettings: vectorISA),
        .target(name: "TSMixer", dependencies: ["NN", "Checkpoint"], swiftSettings: vectorISA),
        // Normalising-flow layers (MixerFlow's building blocks): invertible, with their log-determinants.
        .target(name: "Flow", dependencies: ["NN"], swiftSettings: vectorISA),
        // Every model kind behind one config and one folder format; training checkpoints.
        .target(name: "Models", dependencies: ["NN", "Checkpoint", "Optimizers", "TTM", "TSMixer", "Flow"]),
        .target(name: "Corpus", dependencies: ["HDF5", "Checkpoint", "CZlib"]),
        // The engine (one step for every model), pretraining, fine-tuning, evaluation, run configs.
        .target(name: "Training", dependencies: [
            "MPI", "BLAS", "NN", "Optimizers", "Models", "TTM", "Flow", "Checkpoint", "Corpus",
            .product(name: "Yams", package: "Yams"),
        ]),

        .executableTarget(
            name: "ttm",
            dependencies: [
                "BLAS", "MPI", "NN", "Kernels", "TTM", "Flow", "Models", "Checkpoint", "Optimizers", "Corpus", "Training", "CZlib",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .testTarget(name: "MPITests", dependencies: ["MPI"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "CHDF5"]),
        .testTarget(name: "BLASTests", dependencies: ["BLAS"]),
        // Test-only: counts heap allocations (replaces malloc in the test executable, see its source).
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        .testTarget(name: "NNTests", dependencies: ["NN", "Kernels", "KernelsAVX512", "TSMixer", "Flow", "Optimizers", "Checkpoint", "AllocationCounter"]),
        .testTarget(name: "CheckpointTests", dependencies: ["Checkpoint"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "Models", "TTM", "TSMixer", "Flow", "Corpus", "CZlib", "NN", "Checkpoint", "Optimizers", "AllocationCounter"]),
        .testTarget(name: "CorpusTests", dependencies: ["Corpus", "HDF5", "CHDF5"]),
        .testTarget(name: "TTMTests", dependencies: ["TTM", "Models", "NN", "Optimizers", "Checkpoint"]),
        // Runs the built `ttm` executable; depending on it makes `swift test` build it first.
        .testTarget(name: "CLITests", dependencies: ["ttm", "BLAS", "Checkpoint", "HDF5", "NN"]),
    ]
)
