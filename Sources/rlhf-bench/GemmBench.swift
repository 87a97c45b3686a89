// `rlhf-bench gemm`: our GEMM at the GPT-2 MLP shapes (CoreBench.gemmShapes) in fp32 and, with
// `--precision bf16`, in bf16 (kernel chosen by CPUID, printed), each as a ratio to our fp32 GEMM
// timed in the same run; the cost of packing B to bf16; and with `--compare-pytorch PYTHON`,
// torch.matmul in fp32 and bf16 at the same shapes (Reference/time_matmul.py), as ratios.
// Leaves out: OpenBLAS (`rlhf-bench core`) and model-level timings.
import ArgumentParser
import Foundation
import TensorCore

extension Precision: ExpressibleByArgument {}

struct GemmBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GEMM GFLOP/s in fp32 or bf16 (kernel by CPUID), packing cost, optional PyTorch ratios.")

    @Option(help: "Timed runs per figure (the median is printed).")
    var runs = 7
    @Option(help: "fp32 or bf16 (bf16 also times fp32 as the same-run reference).")
    var precision: Precision = .fp32
    @Option(help: "A Python with torch: runs Reference/time_matmul.py at the same shapes and prints ratios.")
    var comparePytorch: String?

    func run() throws {
        Self.printMachine()
        let ours = Self.figures(runs: runs, precision: precision)
        if let python = comparePytorch { try Self.comparePytorch(python: python, runs: runs, ours: ours) }
    }

    /// The CPU model and what the bf16 dispatch found.
    static func printMachine() {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown"
        printFact("cpu", "\(model), \(ThreadPool.shared.threadCount) threads")
        printFact("bf16_kernel", Gemm.bf16Kernel.rawValue)
        printFact("amx", Gemm.amxSupport.rawValue)
    }

    /// GFLOP/s by "<precision>_<threads>t_<shape>", fp32 always, bf16 when asked.
    @discardableResult
    static func figures(runs: Int, precision: Precision, threadCounts: [Int] = [1, 2]) -> [String: Double] {
        if precision == .bf16, let note = precision.fallbackNote() { printFact("precision_note", note) }
        var rates: [String: Double] = [:]
        var worstError = 0.0
        for shape in CoreBench.gemmShapes {
            let (m, n, k) = (shape.m, shape.n, shape.k)
            let a = CoreBench.filled(m * k, seed: 1), b = CoreBench.filled(k * n, seed: 2)
            let c = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
            let c32 = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
            defer { a.deallocate(); b.deallocate(); c.deallocate(); c32.deallocate() }
            let lda = shape.transA ? m : k, ldb = shape.transB ? k : n
            let flop = 2.0 * Double(m) * Double(n) * Double(k)
            for threads in threadCounts {
                let pool = ThreadPool(threadCount: threads)
                let t32 = median(seconds: runs) {
                    Gemm.multiply(m: m, n: n, k: k, a: a, lda: lda, transA: shape.transA, b: b, ldb: ldb,
                                  transB: shape.transB, c: c32, ldc: n, pool: pool)
                }
                rates["fp32_\(threads)t_\(shape.name)"] = flop / t32 / 1e9
                printFigure("gemm_fp32_\(threads)t_\(shape.name)", flop / t32 / 1e9, "GFLOP/s")
                guard precision == .bf16 else { continue }
                let t16 = median(seconds: runs) {
                    Gemm.multiply(m: m, n: n, k: k, a: a, lda: lda, transA: shape.transA, b: b, ldb: ldb,
                                  transB: shape.transB, c: c, ldc: n, precision: .bf16, pool: pool)
                }
                rates["bf16_\(threads)t_\(shape.name)"] = flop / t16 / 1e9
                printFigure("gemm_bf16_\(threads)t_\(shape.name)", flop / t16 / 1e9, "GFLOP/s")
                printFigure("gemm_ratio_bf16_vs_fp32_\(threads)t_\(shape.name)", t32 / t16, "x")
                if threads == 1 && Gemm.bf16Kernel != .fp32 {
                    // Packing all of op(B) once, as a share of the 1-thread bf16 GEMM that repeats it.
                    let bytes = Gemm.packedBF16Bytes(k: k, n: n)
                    let packed = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
                    defer { packed.deallocate() }
                    let tp = median(seconds: runs) {
                        Gemm.packBF16(k: k, n: n, b: b, ldb: ldb, transB: shape.transB, into: packed)
                    }
                    printFigure("gemm_bf16_pack_b_share_1t_\(shape.name)", tp / t16, "")
                }
            }
            guard precision == .bf16 else { continue }
            // Normwise error of the bf16 product against the fp32 one (inputs in [-1, 1)).
            var diff = 0.0, size = 0.0
            for i in 0..<(m * n) { diff = max(diff, Double(abs(c[i] - c32[i]))); size = max(size, Double(abs(c32[i]))) }
            worstError = max(worstError, diff / size)
        }
        if precision == .bf16 { printFigure("gemm_bf16_max_rel_error_vs_fp32", worstError, "") }
        let first = "fp32_1t_\(CoreBench.gemmShapes[0].name)"
        if let speed = rates[first], speed < 50 {
            print("WARNING: our 1-thread GEMM runs at \(String(format: "%.1f", speed)) GFLOP/s (< 50): "
                  + "TensorCore lost `-target-cpu native` / `-Ounchecked` (Package.swift), or this is a debug build.")
        }
        return rates
    }

    /// Runs Reference/time_matmul.py with 2 threads (our pool's size, if 2) and prints its
    /// figures and ours / theirs for each dtype and shape.
    static func comparePytorch(python: String, runs: Int, ours: [String: Double]) throws {
        let threads = ThreadPool.shared.threadCount
        let shapes = CoreBench.gemmShapes.map { "\($0.m)x\($0.k)x\($0.n):\($0.transA ? "T" : "N")\($0.transB ? "T" : "N")" }
        let script = URL(fileURLWithPath: "Reference/time_matmul.py")
        guard FileManager.default.fileExists(atPath: script.path) else {
            throw ValidationError("--compare-pytorch: Reference/time_matmul.py not found; run from the repository root")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [script.path, "--threads", "\(threads)", "--runs", "\(runs)", "--shapes", shapes.joined(separator: ",")]
        let pipe = Pipe()
        process.standardOutput = pipe
        do { try process.run() } catch {
            throw ValidationError("--compare-pytorch: cannot run \(python): \(error)")
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ValidationError("--compare-pytorch: \(python) Reference/time_matmul.py exited with \(process.terminationStatus)")
        }
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.first == "pytorch_versions" { printFact("pytorch_versions", parts.dropFirst().joined(separator: " ")); continue }
            guard parts.count == 4, parts[0] == "pytorch", let theirs = Double(parts[3]),
                  let index = shapes.firstIndex(of: String(parts[2])) else { continue }
            let dtype = String(parts[1]), name = CoreBench.gemmShapes[index].name
            printFigure("gemm_pytorch_\(dtype)_\(threads)t_\(name)", theirs, "GFLOP/s")
            if let mine = ours["\(dtype)_\(threads)t_\(name)"] {
                printFigure("gemm_ratio_ours_vs_pytorch_\(dtype)_\(threads)t_\(name)", mine / theirs, "x")
            }
        }
    }
}
