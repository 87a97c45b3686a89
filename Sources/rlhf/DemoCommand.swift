// `rlhf demo [--out DIR] [--budget small|full] [--algorithms ppo,grpo,dpo] [--model FILE.gguf|DIR]`: the
// README's first command — the whole RLHF recipe on the bundled movie-review snippets, a policy trained by
// each method named, ending in DIR/report.html. With --model the policy is that pretrained chat model,
// trained with LoRA by GRPO (docs/demo.md, "A real model").
import ArgumentParser
import Foundation
import RLHF
import RunKit

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo",
        abstract: "Run tokenizer -> SFT -> reward model -> PPO, GRPO and DPO on the bundled movie-review data and write a report.")
    @Option(help: "Output directory.") var out = "runs/demo"
    @Option(help: "small (about 3 minutes) or full (about 15 minutes on 2 cores; with --model about 750 CPU-seconds).")
    var budget = "full"
    @Option(help: ArgumentHelp("Comma-separated methods that train a policy from the SFT model, compared in the report: ppo, grpo,"
        + " dpo (default all three; with --model only grpo)."))
    var algorithms: String?
    @Option(help: ArgumentHelp("A pretrained chat model (.gguf file or Hugging Face folder, e.g. SmolLM2-135M-Instruct) to train"
        + " with LoRA by GRPO against the demo's reward model, instead of the bundled from-scratch policies."))
    var model: String?

    func run() throws {
        guard let b = DemoConfig.Budget(rawValue: budget) else { throw ValidationError("--budget must be small or full") }
        var chosen: [DemoAlgorithm] = []
        if let model {
            guard FileManager.default.fileExists(atPath: model) else {
                throw ValidationError("--model: \(model) does not exist (a .gguf file or a model folder; docs/demo.md says how to fetch one)")
            }
            guard algorithms == nil || algorithms == "grpo" else {
                throw ValidationError("--algorithms: with --model the policy is trained by grpo only; leave --algorithms out")
            }
        }
        for name in (algorithms ?? (model == nil ? "ppo,grpo,dpo" : "grpo")).split(separator: ",", omittingEmptySubsequences: false) {
            let t = name.trimmingCharacters(in: .whitespaces)
            guard let a = DemoAlgorithm(rawValue: t) else {
                throw ValidationError("--algorithms: unknown method \"\(t)\"; expected a comma-separated list of ppo, grpo, dpo")
            }
            guard !chosen.contains(a) else { throw ValidationError("--algorithms: \(t) is named twice") }
            chosen.append(a)
        }
        // Each stage is a fresh run in DIR/<stage>: refuse a used DIR now, not minutes later.
        do { try RunDirectory.check(out, field: "--out", overwrite: false, resume: false) } catch let e as RunDirectoryError {
            throw ValidationError("\(e.path): --out must be a new or empty folder (the demo starts every stage afresh); choose another")
        }
        var config = DemoConfig(budget: b, outputDir: out)
        config.algorithms = chosen
        config.model = model
        let result = try DemoRunner(config: config, log: stderrLine).run()
        // Test-split numbers only; the report also shows validation.
        let f = { (x: Double) in String(format: "%.3f", x) }
        print("sft_test_loss: \(f(result.sftTestLoss.after))")
        print("rm_test_accuracy: \(f(result.rm.test.accuracy))")
        print("judge_test_accuracy: \(f(result.judge.test.accuracy))")
        // The baseline every policy is compared with: the SFT model, or the real model untrained.
        let base = model == nil ? "sft" : "base"
        print("test_rm_score_\(base): \(f(result.sft.rm.mean))")
        print("test_judge_score_\(base): \(f(result.sft.judge.mean))")
        for p in result.policies {
            let name = p.algorithm.rawValue
            print("test_rm_score_\(name): \(f(p.test.rm.mean))")
            print("test_judge_score_\(name): \(f(p.test.judge.mean))")
            print("kl_\(name)_to_\(base): \(f(p.test.klToSFT))")
            print("train_seconds_\(name): \(Int(p.seconds))")
        }
        print("report: \(result.reportPath)")
    }
}
