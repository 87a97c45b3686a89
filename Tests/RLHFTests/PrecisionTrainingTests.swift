// `precision` in the trainer configs: a bf16 SFT run of the tiny Llama fixture tracks the fp32
// run's loss curve step by step, and the key is decoded and checked like every other field.
// Leaves out: the bf16 GEMM itself (TensorCoreTests/GemmBF16Tests.swift) and PPO, whose
// parity tests stay fp32.
import Foundation
import RLHF
import TensorCore
import Testing

@Suite struct PrecisionTrainingTests {
    /// Same data, seed and schedule in fp32 and bf16, 25 steps. Tolerance: each step's bf16 loss
    /// within 1% of the fp32 one (measured: 0.14% at worst) (bf16 operands perturb each product by ~2e-3 relative; the
    /// difference compounds over the steps but stays far below the loss's own fall).
    @Test(.enabled(if: Gemm.bf16Kernel == .avx512bf16, "this CPU has no avx512_bf16: bf16 runs fp32"))
    func bf16SFTTracksFP32LossCurve() throws {
        let dir = runDir("sftbf16")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let rows = (0..<24).map { i in "{\"prompt\": \"Count:\", \"completion\": \" one two three \(i % 3 == 0 ? "four" : "five")\"}" }
        try rows.joined(separator: "\n").write(toFile: dir + "/data.jsonl", atomically: true, encoding: .utf8)
        func losses(_ precision: String) throws -> [Double] {
            let config = try ConfigFile.load(SFTConfig.self, path: nil, overrides: [
                "model_path=\(rlhfFixture("tiny-llama"))", "train_file=\(dir)/data.jsonl", "eval_fraction=0",
                "output_dir=\(dir)/\(precision)", "batch_size=6", "learning_rate=0.01", "max_steps=25", "logging_steps=1",
                "precision=\"\(precision)\""])
            let summary = try SFTTrainer(config: config).train()
            return summary.history.compactMap { r in r.scalars.first { $0.name == "train/loss" }?.value }
        }
        let fp32 = try losses("fp32"), bf16 = try losses("bf16")
        #expect(fp32.count == 25 && bf16.count == 25)
        var worst = 0.0
        for (step, (a, b)) in zip(fp32, bf16).enumerated() {
            let relative = abs(b - a) / a
            worst = max(worst, relative)
            #expect(relative <= 0.01, "step \(step + 1): fp32 loss \(a), bf16 loss \(b)")
        }
        // The bf16 run really ran bf16 (an fp32 run would repeat the losses exactly).
        #expect(fp32 != bf16, "bf16 losses equal the fp32 ones: did the products run fp32?")
        #expect(bf16.last! < bf16.first! * 0.5, "bf16 loss \(bf16.first!) -> \(bf16.last!)")
        print("bf16 vs fp32 SFT loss: worst relative difference \(worst) over \(fp32.count) steps")
    }

    @Test func precisionKeyIsAnEnumWithFP32Default() throws {
        let common = ["model_path=\(rlhfFixture("tiny-llama"))", "train_file=\(rlhfFixture("sft.jsonl"))"]
        #expect(try ConfigFile.load(SFTConfig.self, path: nil, overrides: common).training.precision == .fp32)
        #expect(try ConfigFile.load(SFTConfig.self, path: nil, overrides: common + ["precision=\"bf16\""]).training.precision == .bf16)
        #expect(performing: { _ = try ConfigFile.load(SFTConfig.self, path: nil, overrides: common + ["precision=\"fp16\""]) },
                throws: { "\($0)".contains("precision") })
        let ppo = ["sft_model_path=\(rlhfFixture("tiny-llama"))", "prompt_data=[\"Hi\"]"]
        #expect(try ConfigFile.load(PPOConfig.self, path: nil, overrides: ppo).precision == .fp32)
        #expect(try ConfigFile.load(PPOConfig.self, path: nil, overrides: ppo + ["precision=\"bf16\""]).precision == .bf16)
    }
}
