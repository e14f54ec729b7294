import ArgumentParser
import BLAS
import NN
import Foundation
import Training

struct BenchBLAS: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas",
        abstract: "GEMM throughput (GFLOP/s) on the shapes the models use: OpenBLAS's sgemm, with the kernels in use, and the engine's own GEMM (what the layers run).")

    @Option(help: "Threads for the measurement (OpenBLAS's, and the engine GEMM's).")
    var threads: Int = 1

    @Option(help: "Seconds to spend timing each shape (after one warm-up call).")
    var seconds: Double = 1.0

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1 (got \(threads))") }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive (got \(seconds))") }
    }

    func run() throws {
        OpenBLAS.threadCount = threads
        print("OpenBLAS: \(OpenBLAS.configuration)")
        print("kernels:  \(OpenBLAS.coreName) (\(OpenBLAS.kernelChoice))")
        print("threads:  \(OpenBLAS.threadCount)")
        print("engine:   \(ElementwiseLoops.description)")
        print("shape (m x n x k)    sgemm GFLOP/s best   median   engine GFLOP/s best   median")
        for (m, n, k) in [(512, 512, 512), (2048, 2048, 2048), (3584, 384, 192)] {
            let sgemm = GEMMTiming.measure(m: m, n: n, k: k, seconds: seconds)
            let engine = GEMMTiming.measure(m: m, n: n, k: k, seconds: seconds, engine: true)
            let shape = "\(m)x\(n)x\(k)".padding(toLength: 20, withPad: " ", startingAt: 0)
            print("\(shape) \(format(sgemm.best).leftPadded(19))   \(format(sgemm.median).leftPadded(6))   "
                  + "\(format(engine.best).leftPadded(19))   \(format(engine.median).leftPadded(6))")
        }
    }

    private func format(_ value: Double) -> String { String(format: "%.1f", value) }
}

/// Times row-major sgemm (or the engine's `MatrixProduct`) on random matrices.
enum GEMMTiming {
    struct Result { var best: Double; var median: Double; var calls: Int }

    static func measure(m: Int, n: Int, k: Int, seconds: Double, engine: Bool = false) -> Result {
        var generator = SplitMix64(seed: 42)
        let a = (0..<(m * k)).map { _ in generator.nextUnitFloat() }
        let b = (0..<(k * n)).map { _ in generator.nextUnitFloat() }
        var c = [Float](repeating: 0, count: m * n)
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        let clock = ContinuousClock()
        func call() -> Double {
            let elapsed = clock.measure {
                c.withUnsafeMutableBufferPointer { cp in
                    if engine {
                        MatrixProduct.multiply(.none, .none, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: cp.baseAddress!, ldc: n,
                                               start: .zero)
                    } else {
                        sgemm(.none, .none, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: cp.baseAddress!, ldc: n)
                    }
                }
            }
            return elapsed.inSeconds
        }
        _ = call()  // warm-up: page faults, thread start
        var rates: [Double] = []
        var spent = 0.0
        while spent < seconds || rates.count < 3 {
            let t = call()
            spent += t
            rates.append(flops / t / 1e9)
        }
        rates.sort()
        return Result(best: rates.last!, median: rates[rates.count / 2], calls: rates.count)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
