// The bundled demo end to end at its small budget (fixed seed): every stage must do its
// job — SFT lowers held-out loss, the reward model ranks held-out snippets well above
// chance, PPO raises the held-out RM score with a bounded KL — and the report must exist
// with its plots. (~30 s on 2 cores.)
import Foundation
import RLHF
import Testing

@Suite struct DemoTests {
    @Test func smallBudgetRunsTheWholeRecipe() throws {
        let dir = NSTemporaryDirectory() + "rlhf-demo-\(UUID().uuidString)"
        let r = try DemoRunner(config: DemoConfig(budget: .small, outputDir: dir)).run()
        #expect(r.sftEvalLoss.after < r.sftEvalLoss.before - 0.5, "SFT held-out loss \(r.sftEvalLoss)")
        #expect(r.rmHeldOutAccuracy > 0.65, "RM held-out pairwise accuracy \(r.rmHeldOutAccuracy) over \(r.rmHeldOutPairs) pairs")
        #expect(r.ppo.meanScore > r.sft.meanScore, "held-out RM score SFT \(r.sft.meanScore) -> PPO \(r.ppo.meanScore)")
        #expect(r.ppo.klToSFT < 10, "KL to the SFT model \(r.ppo.klToSFT) nats")
        let html = try String(contentsOfFile: r.reportPath, encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 >= 6, "the report embeds its plots")
        let lines = try String(contentsOfFile: r.samplesPath, encoding: .utf8).split(separator: "\n")
        let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as! [String: Any]
        #expect(Set(first.keys) == ["prompt", "sft_response", "ppo_response", "sft_score", "ppo_score"])
        for stage in ["sft/final", "rm/final", "ppo/final", "tokenizer"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + stage), "\(stage) written")
        }
    }
}
