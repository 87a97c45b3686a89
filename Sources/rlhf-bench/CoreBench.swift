// `rlhf-bench core`: kernel-level figures. Today: fp32 GEMM (ours vs OpenBLAS at 1 and 2
// threads on GPT-2-sized linear-layer shapes), memcpy bandwidth as the memory ceiling, and
// elementwise/softmax/layerNorm/AdamW bandwidth next to memcpy (ElementwiseFigures.swift).
// Other kernel groups (elementwise, softmax, ...) append a `static func xFigures()` and a
// call in run(). Leaves out: model- and trainer-level timings (other subcommands).
import ArgumentParser
import Foundation
import TensorCore

struct CoreBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "core",
        abstract: "GEMM GFLOP/s (ours and OpenBLAS), memcpy bandwidth, elementwise kernels vs memcpy.")

    @Option(help: "Timed runs per figure (the median is printed); for GEMM, rounds of ours vs OpenBLAS (median ratio).")
    var runs = 7
    @Option(help: "Which groups: all, or a comma-separated subset of gemm, memcpy, elementwise.")
    var only = "all"
    @Option(help: "fp32, or bf16 to add the bf16 GEMM figures of `rlhf-bench gemm` to the gemm group.")
    var precision: Precision = .fp32

    func run() throws {
        let groups = Set(only.split(separator: ",").map(String.init))
        func wants(_ g: String) -> Bool { only == "all" || groups.contains(g) }
        if wants("gemm") {
            Self.gemmFigures(runs: runs)
            if precision == .bf16 {
                GemmBench.printMachine()
                GemmBench.figures(runs: runs, precision: .bf16)
            }
        }
        if wants("memcpy") { Self.memcpyFigures(runs: runs) }
        if wants("elementwise") { Self.elementwiseFigures(runs: runs) }
    }

    /// Elementwise, softmax, layerNorm and AdamW GB/s next to a memcpy of the same bytes,
    /// and the cost of the always-on index checks (see ElementwiseFigures.swift).
    static func elementwiseFigures(runs: Int) {
        ElementwiseFigures.run(runs: runs)
    }

    /// One GEMM shape of a linear layer y = x Wᵀ with W (out, in), over T = 1024 tokens.
    struct GemmShape {
        let m: Int, k: Int, n: Int
        let transA: Bool, transB: Bool
        /// What the product is in the layer; appended to the figure name when not plain NN.
        let role: String
        var name: String {
            "M\(m)_K\(k)_N\(n)_\(transA ? "T" : "N")\(transB ? "T" : "N")" + (role.isEmpty ? "" : "_\(role)")
        }
    }

    /// GPT-2 MLP shapes (768 <-> 3072). With W (out, in): forward y = x Wᵀ is NT, the input
    /// gradient dX = dY W is NN, the weight gradient dW = dYᵀ X is TN.
    static let gemmShapes = [
        GemmShape(m: 1024, k: 768, n: 3072, transA: false, transB: false, role: ""),
        GemmShape(m: 1024, k: 3072, n: 768, transA: false, transB: false, role: "dX"),   // dX of 768->3072
        GemmShape(m: 3072, k: 1024, n: 768, transA: true, transB: false, role: "dW"),    // dW of 768->3072
        GemmShape(m: 768, k: 1024, n: 3072, transA: true, transB: false, role: "dW"),    // dW of 3072->768
        GemmShape(m: 1024, k: 768, n: 3072, transA: false, transB: true, role: "fwd"),   // y of 768->3072
    ]

    static func gemmFigures(runs: Int) {
        let threadCounts = [1, 2]
        let cpu = CPUInfo.current
        printFact("cpu_caches", cpu.caches.map(\.description).joined(separator: ", ")
                  + (cpu.source == .fallback ? " (none reported: fallback sizes)" : ""))
        printFact("gemm_blocking", "\(GemmBlocking.current) (from the caches above)")
        // Load OpenBLAS first: OPENBLAS_CORETYPE must be set before the library loads.
        let blas = OpenBLAS.load()
        if let blas {
            printFact("openblas_coretype", "\(blas.coreName) (requested \(blas.requestedCore ?? "none"), "
                      + "environment had \(blas.previousCore ?? "unset"))")
        } else {
            printFact("openblas", "absent (apt-get install libopenblas0-pthread)")
        }

        var ours: [String: Double] = [:], theirs: [String: Double] = [:], ratios: [String: Double] = [:]
        var maxDiff: Float = 0
        for shape in gemmShapes {
            let (m, n, k) = (shape.m, shape.n, shape.k)
            let a = filled(m * k, seed: 1), b = filled(k * n, seed: 2)
            let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
            let reference = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
            defer { a.deallocate(); b.deallocate(); c.deallocate(); reference.deallocate() }
            let lda = shape.transA ? m : k, ldb = shape.transB ? k : n
            let flop = 2.0 * Double(m) * Double(n) * Double(k)

            for threads in threadCounts {
                let pool = ThreadPool(threadCount: threads)
                let key = "\(threads)t_\(shape.name)"
                func mine() {
                    Gemm.multiply(m: m, n: n, k: k, a: a, lda: lda, transA: shape.transA, b: b, ldb: ldb,
                                  transB: shape.transB, c: c, ldc: n, pool: pool)
                }
                guard let blas else {
                    let t = median(seconds: runs, mine)
                    ours[key] = flop / t / 1e9
                    printFigure("gemm_ours_\(key)", flop / t / 1e9, "GFLOP/s")
                    continue
                }
                // Rounds of (ours, OpenBLAS), a ratio per round, the median ratio: on a shared
                // machine the load moves between rounds, rarely within one. OpenBLAS's workers
                // spin ~0.1 s after a call, so ours waits that out before its turn.
                blas.setThreads(Int32(threads))
                var mineTimes: [Double] = [], theirTimes: [Double] = [], roundRatios: [Double] = []
                for _ in 0..<max(1, runs) {
                    usleep(200_000)
                    let tm = median(seconds: 3, warmup: 1, mine)
                    let tt = median(seconds: 3, warmup: 1) {
                        blas.multiply(m: m, n: n, k: k, a: a, lda: lda, transA: shape.transA, b: b, ldb: ldb,
                                      transB: shape.transB, c: reference, ldc: n)
                    }
                    mineTimes.append(tm); theirTimes.append(tt); roundRatios.append(tt / tm)
                }
                func mid(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
                ours[key] = flop / mid(mineTimes) / 1e9
                theirs[key] = flop / mid(theirTimes) / 1e9
                ratios[key] = mid(roundRatios)
                printFigure("gemm_ours_\(key)", ours[key]!, "GFLOP/s")
                printFigure("gemm_openblas_\(key)", theirs[key]!, "GFLOP/s")
            }
            if blas != nil { for i in 0..<(m * n) { maxDiff = max(maxDiff, abs(c[i] - reference[i])) } }
        }
        if blas != nil {
            for threads in threadCounts {
                for shape in gemmShapes {
                    let key = "\(threads)t_\(shape.name)"
                    if let r = ratios[key] { printFigure("gemm_ratio_ours_vs_openblas_\(key)", r, "x") }
                }
            }
            printFigure("gemm_max_abs_diff_ours_vs_openblas", Double(maxDiff), "")  // inputs in [-1, 1)
        }
        let first = "1t_\(gemmShapes[0].name)"
        if let speed = ours[first], speed < 50 {
            print("WARNING: our 1-thread GEMM runs at \(String(format: "%.1f", speed)) GFLOP/s (< 50): "
                  + "TensorCore lost `-target-cpu native` / `-Ounchecked` (Package.swift), or this is a debug build.")
        }
    }

    /// memcpy of a DRAM-sized (64 MiB) and an L2-sized (512 KiB) buffer, one thread; GB/s
    /// counts bytes copied (each is read once and written once).
    static func memcpyFigures(runs: Int) {
        for (label, bytes, repeats) in [("64MiB_dram", 64 << 20, 1), ("512KiB_l2", 512 << 10, 256)] {
            let src = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            let dst = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            defer { src.deallocate(); dst.deallocate() }
            memset(src, 1, bytes)
            memset(dst, 0, bytes)
            let t = median(seconds: runs) {
                for _ in 0..<repeats { memcpy(dst, src, bytes) }
            }
            printFigure("memcpy_\(label)", Double(bytes * repeats) / t / 1e9, "GB/s")
        }
    }

    /// Values in [-1, 1) from an LCG: deterministic, no denormals, no trivial zeros.
    static func filled(_ count: Int, seed: UInt64) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutablePointer<Float>.allocate(capacity: count)
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        for i in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            p[i] = Float(state >> 40) / Float(1 << 23) - 1
        }
        return p
    }
}
