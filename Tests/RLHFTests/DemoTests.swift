// The bundled demo end to end at its small budget (fixed seed): every stage must do its
// job — SFT lowers held-out loss, the reward model ranks held-out snippets well above
// chance, PPO raises the held-out RM score with a bounded KL — and the report must exist
// with its plots. (~55 s on 2 cores.)
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
        for stage in ["sft/model.safetensors", "rm/model.safetensors", "ppo/model.safetensors", "tokenizer"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + stage), "\(stage) written")
        }
    }

    @Test func ratedGroupsCoverEverySnippetOncePerPass() throws {
        let snippets = (0..<50).map { Snippet(id: $0, rating: Double($0 % 9) - 4, text: "s\($0)") }
        let groups = DemoData.ratedGroups(snippets, size: 8, passes: 2, seed: 7)
        #expect(groups.count == 14 && groups.allSatisfy { $0.count >= 2 && $0.count <= 8 })
        let firstPass = groups.prefix(7).flatMap { $0.map(\.id) }, secondPass = groups.suffix(7).flatMap { $0.map(\.id) }
        #expect(firstPass.sorted() == Array(0..<50) && secondPass.sorted() == Array(0..<50))
        #expect(firstPass != secondPass, "each pass reshuffles")
        #expect(DemoData.ratedGroups(snippets, size: 8, passes: 2, seed: 7) == groups)
        #expect(DemoData.ratedGroups(snippets, size: 8, passes: 0.5, seed: 7) == Array(groups.prefix(4)))   // 3.5 rounds up
    }
}
