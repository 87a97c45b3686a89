// `rlhf-bench scaling`: the PPO update (`rlhf-bench ppo`) at 1, 2, 4, ... N threads, each run
// in a fresh process with RLHF_THREADS set (the shared pool is sized once per process), then
// time, GEMM peak and MFU per thread count and the speed-up over one thread.
// Leaves out: pinning threads to cores, NUMA placement.
import ArgumentParser
import Foundation
import TensorCore

struct ScalingBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scaling",
        abstract: "PPO update time and MFU at 1, 2, ... N threads (each a child `rlhf-bench ppo` with RLHF_THREADS).")

    @Option(help: "Comma-separated thread counts (default: 1, 2, 4, ... up to RLHF_THREADS or the CPU count, and it).")
    var threads: String?
    @Option(help: "gpt2 (124M) or small (a tiny config for a quick smoke run).") var model = "gpt2"
    @Option(help: "Timed PPO iterations per thread count (the median is used).") var iterations = 1
    @Option(help: "New tokens per response (shorter rollouts keep the run short; the update is what scales).")
    var newTokens = 64

    func threadCounts() throws -> [Int] {
        if let threads {
            let counts = threads.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--threads: expected positive integers separated by commas, got \"\(threads)\"")
            }
            return counts.map { $0! }
        }
        let most = ThreadPool.defaultThreadCount()
        var counts: [Int] = []
        var t = 1
        while t < most { counts.append(t); t *= 2 }
        return counts + [most]
    }

    func run() throws {
        let counts = try threadCounts()
        let exe = ChildProcess.currentExecutable
        let name = model == "small" ? "ppo_small" : "ppo_gpt2_124m"
        printFact("scaling_threads", counts.map(String.init).joined(separator: ","))
        var base: (update: Double, peak: Double)?
        for t in counts {
            let out = try ChildProcess.output(exe, ["ppo", "--model", model, "--iterations", "\(iterations)",
                                                    "--new-tokens", "\(newTokens)"],
                                              environment: ["RLHF_THREADS": "\(t)"])
            let figures = Self.figures(out)
            func figure(_ key: String) throws -> Double {
                guard let v = figures[key] else { throw ValidationError("scaling: the \(t)-thread run printed no \(key)") }
                return v
            }
            let update = try figure("\(name)_update_seconds"), peak = try figure("gemm_peak_M1024_K768_N3072_\(t)t")
            let gflops = try figure("\(name)_update_gflops")
            if t == 1 { base = (update, peak) }
            printFigure("scaling_\(t)t_iteration_seconds", try figure("\(name)_iteration_seconds"), "s")
            printFigure("scaling_\(t)t_update_seconds", update, "s")
            printFigure("scaling_\(t)t_update_clip_seconds", try figure("\(name)_update_clip_seconds"), "s")
            printFigure("scaling_\(t)t_update_adamw_seconds", try figure("\(name)_update_adamw_seconds"), "s")
            printFigure("scaling_\(t)t_update_gflops", gflops, "GFLOP/s")
            printFigure("scaling_\(t)t_gemm_peak", peak, "GFLOP/s")
            printFigure("scaling_\(t)t_update_mfu_vs_gemm_peak", try figure("\(name)_update_mfu_vs_gemm_peak"), "")
            if let base, t > 1 {
                printFigure("scaling_\(t)t_update_speedup_vs_1t", base.update / update, "x")
                // Against t times the one-thread GEMM peak: what perfect scaling would allow.
                printFigure("scaling_\(t)t_update_mfu_vs_\(t)x_1t_gemm_peak", gflops / (Double(t) * base.peak), "")
            }
        }
    }

    /// `name: value unit` lines -> [name: value]; other lines are skipped.
    static func figures(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let value = line[line.index(after: colon)...].split(separator: " ").first.flatMap { Double($0) }
            if let value { out[String(line[..<colon])] = value }
        }
        return out
    }
}
