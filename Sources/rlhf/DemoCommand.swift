// `rlhf demo [--out DIR] [--budget small|full]`: the README's first command — the whole
// RLHF recipe on the bundled movie-review snippets, ending in DIR/report.html.
import ArgumentParser
import Foundation
import RLHF
import RunKit

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "demo",
        abstract: "Run tokenizer -> SFT -> reward model -> PPO on the bundled movie-review data and write a report.")
    @Option(help: "Output directory.") var out = "runs/demo"
    @Option(help: "small (about 3 minutes) or full (under 15 minutes on 2 cores).") var budget = "full"

    func run() throws {
        guard let b = DemoConfig.Budget(rawValue: budget) else { throw ValidationError("--budget must be small or full") }
        // Each stage is a fresh run in DIR/<stage>: refuse a used DIR now, not minutes later.
        do { try RunDirectory.check(out, field: "--out", overwrite: false, resume: false) } catch let e as RunDirectoryError {
            throw ValidationError("\(e.path): --out must be a new or empty folder (the demo starts every stage afresh); choose another")
        }
        let result = try DemoRunner(config: DemoConfig(budget: b, outputDir: out), log: stderrLine).run()
        // Test-split numbers only; the report also shows validation.
        let f = { (x: Double) in String(format: "%.3f", x) }
        print("sft_test_loss: \(f(result.sftTestLoss.after))")
        print("rm_test_accuracy: \(f(result.rm.test.accuracy))")
        print("judge_test_accuracy: \(f(result.judge.test.accuracy))")
        print("test_rm_score_sft: \(f(result.sft.rm.mean))")
        print("test_rm_score_ppo: \(f(result.ppo.rm.mean))")
        print("test_judge_score_sft: \(f(result.sft.judge.mean))")
        print("test_judge_score_ppo: \(f(result.ppo.judge.mean))")
        print("kl_ppo_to_sft: \(f(result.ppo.klToSFT))")
        print("report: \(result.reportPath)")
    }
}
