// `rlhf-bench trainers`: one full SFT optimizer step on the GPT-2-124M shape (random
// weights, batch 4 x 256): forward (loss), backward, grad-norm clip, AdamW, each timed;
// tokens/s and MFU against the fp32 GEMM rate measured in the same run; AdamW's achieved
// bandwidth next to a memcpy moving the same bytes with the same thread split.
// Leaves out: data loading/collation and checkpointing (not per-step costs), reward
// training (same step shape with a scalar head).
import ArgumentParser
import Foundation
import Models
import NN
import TensorCore

struct TrainersBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainers",
        abstract: "SFT step (forward, backward, clip, AdamW) seconds, tokens/s and MFU on GPT-2-124M.")

    @Option(help: "Timed steps (median printed) after one warm-up step.") var runs = 3
    @Option(help: "Batch size.") var batch = 4
    @Option(help: "Sequence length.") var time = 256
    @Option(help: "gpt2 (124M) or small (a tiny config for a smoke run).") var model = "gpt2"
    @Option(help: "fp32 or bf16 (matrix products in bf16, fp32 accumulation; figures get a _bf16 suffix).")
    var precision: Precision = .fp32

    func run() throws {
        let peak = ModelsBench.gemmPeak()
        printFigure("gemm_peak_M1024_K768_N3072_\(ThreadPool.shared.threadCount)t", peak / 1e9, "GFLOP/s")
        let config: TransformerConfig = model == "small" ? .gpt2(vocabSize: 512, hiddenSize: 128, layers: 2, heads: 4) : .gpt2()
        let name = (model == "small" ? "sft_small" : "sft_gpt2_124m") + (precision == .bf16 ? "_bf16" : "")
        printFact("precision", "\(precision) (bf16 kernel: \(Gemm.bf16Kernel.rawValue))")
        if let note = precision.fallbackNote() { printFact("precision_note", note) }
        var initializer = WeightInit.random(seed: 1)
        let lm = CausalLM(config: config, initializer: &initializer)
        let params = lm.parameters()
        let optimizer = AdamW(parameters: params, config: AdamWConfig(lr: 1e-5, weightDecay: 0.01))
        var rng = Philox(seed: 2)
        let (b, t) = (batch, time)
        let ids = (0..<(b * t)).map { _ in Int32(rng.nextUInt32() % UInt32(config.vocabSize)) }
        let input = try TokenBatch(ids: ids, batch: b, time: t)

        // 1. forward (loss)  2. backward  3. clip  4. AdamW; the first step warms up.
        var fwd: [Double] = [], bwd: [Double] = [], clip: [Double] = [], adam: [Double] = [], total: [Double] = []
        for i in 0..<(runs + 1) {
            lm.zeroGrad()
            let tape = Tape()
            let t0 = now()
            let loss = try precision.run { try tape.record { try lm.loss(input, labels: ids) } }
            let t1 = now()
            try tape.backward(loss)
            let t2 = now()
            try clipGradNorm(params, maxNorm: 1)
            let t3 = now()
            optimizer.step()
            let t4 = now()
            if i > 0 { fwd.append(t1 - t0); bwd.append(t2 - t1); clip.append(t3 - t2); adam.append(t4 - t3); total.append(t4 - t0) }
        }
        let step = median(total), tokens = Double(b * t)
        let flops = 3 * config.forwardFLOPsPerToken(contextLength: t) * tokens
        printFigure("\(name)_params", Double(lm.parameterCount) / 1e6, "M")
        printFigure("\(name)_step_b\(b)_t\(t)_seconds", step, "s")
        printFigure("\(name)_forward_seconds", median(fwd), "s")
        printFigure("\(name)_backward_seconds", median(bwd), "s")
        printFigure("\(name)_clip_seconds", median(clip), "s")
        printFigure("\(name)_adamw_seconds", median(adam), "s")
        printFigure("\(name)_tokens_per_s", tokens / step, "tokens/s")
        printFigure("\(name)_gflops", flops / step / 1e9, "GFLOP/s")
        printFigure("\(name)_mfu_vs_gemm_peak", flops / step / peak, "")

        // AdamW reads p, g, m, v and writes p, m, v: 7 x 4 bytes per parameter.
        let count = lm.parameterCount
        let moved = Double(7 * 4 * count)
        let memcpyTime = Self.memcpySeconds(parameters: params.map(\.count))
        printFigure("\(name)_adamw_achieved", moved / median(adam) / 1e9, "GB/s")
        printFigure("\(name)_adamw_memcpy_same_bytes", moved / memcpyTime / 1e9, "GB/s")
        printFigure("\(name)_adamw_time_vs_memcpy", median(adam) / memcpyTime, "x")
    }

    /// Seconds to memcpy 14 bytes per parameter element (a copy moves each byte twice, so
    /// the same 28 bytes AdamW moves), tensor by tensor, each split over the pool as
    /// AdamW's kernel splits that parameter.
    static func memcpySeconds(parameters: [Int]) -> Double {
        let largest = parameters.max() ?? 0
        let bytesPer = 7 * 4 / 2   // per element of a parameter
        let src = UnsafeMutableRawPointer.allocate(byteCount: largest * bytesPer, alignment: 64)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: largest * bytesPer, alignment: 64)
        defer { src.deallocate(); dst.deallocate() }
        memset(src, 1, largest * bytesPer); memset(dst, 0, largest * bytesPer)
        // Copies rotate through the buffer as AdamW walks distinct tensors (no cache reuse
        // beyond what AdamW itself gets: the whole model is far larger than the L3).
        return median(seconds: 3, warmup: 1) {
            for n in parameters {
                ElementwiseFigures.splitMemcpy(dst, src, bytes: n * bytesPer, elements: n)
            }
        }
    }
}
