// `rlhf-bench models`: training-step speed of whole models — forward+backward tokens/s
// and MFU (achieved FLOP/s over the fp32 GEMM rate measured in the same run) for a
// GPT-2-124M-shaped and a SmolLM2-135M-shaped model with random weights, plus a
// per-phase split (forward, backward). Leaves out: the optimizer step (see `trainers`).
import ArgumentParser
import Foundation
import Models
import TensorCore

struct ModelsBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Forward+backward tokens/s and MFU for GPT-2-124M and SmolLM2-135M shapes.")

    @Option(help: "Timed runs per figure (median printed).")
    var runs = 3
    @Option(help: "Batch size.")
    var batch = 4
    @Option(help: "Sequence length.")
    var time = 256
    @Option(help: "Which shapes: gpt2, smollm2 or all.")
    var model = "all"

    func run() throws {
        let peak = Self.gemmPeak()
        printFigure("gemm_peak_M1024_K768_N3072_\(ThreadPool.shared.threadCount)t", peak / 1e9, "GFLOP/s")
        let shapes: [(String, TransformerConfig)] = [("gpt2_124m", .gpt2()), ("smollm2_135m", .llama())]
        for (name, config) in shapes where model == "all" || name.hasPrefix(model) {
            try Self.measure(name: name, config: config, batch: batch, time: time, runs: runs, peak: peak)
        }
    }

    /// The fp32 GEMM rate on the MLP shape, as the denominator of MFU.
    static func gemmPeak() -> Double {
        let (m, k, n) = (1024, 768, 3072)
        let a = [Float](repeating: 0.5, count: m * k), b = [Float](repeating: 0.25, count: k * n)
        var c = [Float](repeating: 0, count: m * n)
        let t = median(seconds: 5) {
            Gemm.multiply(m: m, n: n, k: k, a: a, lda: k, transA: false, b: b, ldb: n, transB: false, c: &c, ldc: n)
        }
        return 2 * Double(m * n * k) / t
    }

    static func measure(name: String, config: TransformerConfig, batch b: Int, time t: Int, runs: Int, peak: Double) throws {
        var initializer = WeightInit.random(seed: 1)
        let model = CausalLM(config: config, initializer: &initializer)
        var rng = Philox(seed: 2)
        let ids = (0..<(b * t)).map { _ in Int32(rng.nextUInt32() % UInt32(config.vocabSize)) }
        let input = try TokenBatch(ids: ids, batch: b, time: t)
        var fwd: [Double] = [], bwd: [Double] = []
        for i in 0..<(runs + 1) {
            model.zeroGrad()
            let tape = Tape()
            let t0 = now()
            let loss = try tape.record { try model.loss(input, labels: ids) }
            let t1 = now()
            try tape.backward(loss)
            let t2 = now()
            if i > 0 { fwd.append(t1 - t0); bwd.append(t2 - t1) }   // first run warms up
        }
        func med(_ x: [Double]) -> Double { let s = x.sorted(); return s[s.count / 2] }
        let total = med(zip(fwd, bwd).map { $0 + $1 })
        let flops = 3 * config.forwardFLOPsPerToken(contextLength: t) * Double(b * t)
        printFigure("\(name)_params", Double(model.parameterCount) / 1e6, "M")
        printFigure("\(name)_fwd_bwd_b\(b)_t\(t)_seconds", total, "s")
        printFigure("\(name)_forward_seconds", med(fwd), "s")
        printFigure("\(name)_backward_seconds", med(bwd), "s")
        printFigure("\(name)_fwd_bwd_tokens_per_s", Double(b * t) / total, "tokens/s")
        printFigure("\(name)_fwd_bwd_gflops", flops / total / 1e9, "GFLOP/s")
        printFigure("\(name)_mfu_vs_gemm_peak", flops / total / peak, "")
    }
}
