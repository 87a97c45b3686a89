// End to end: a scripted labeller works through the HTTP API like a person at the page,
// preferring the response with more of a keyword (a cue the text really carries) and calling
// near-equal counts a tie, and `rlhf reward`'s trainer learns from the rows it wrote: held-out
// accuracy beats chance. Small on purpose (tiny fixture model, ~40 pairs, ~10 s) for CI.
import Foundation
import Labeling
import RLHF
import Testing
import Tokenizers

@Suite(.serialized) struct EndToEndTests {
    /// The labeller's taste: how often `keyword` occurs.
    static func score(_ text: String, keyword: String) -> Int { text.components(separatedBy: keyword).count - 1 }

    @Test func scriptedLabellerTrainsARewardModelThatBeatsChance() async throws {
        // The tiny model's samples are gibberish; counting "e" in them is a cue it can learn once
        // near-equal counts (a difference under 3) are ties, as a person would call them.
        let keyword = "e", gap = 3
        let dir = try tempDir("e2e")
        let topics = ["apple", "river", "stone", "cloud", "green", "music", "paper", "light", "ocean", "tiger"]
        let prompts = (0..<96).map { "Tell me about \(topics[$0 % topics.count]) number \($0):" }
        var config = try tinyConfig(dir, prompts: prompts, tokens: 16)
        config.sampling.temperature = 1.2
        let s = try await TestServer.start(config)
        var pairs = 0, ties = 0
        while true {
            let v = try await s.post("/api/next", #"{"labeller":"script"}"#).json!
            guard let item = v["item"]?.int else { break }
            let texts = try await s.finished("script", item: item)
            let (a, b) = (Self.score(texts[0], keyword: keyword), Self.score(texts[1], keyword: keyword))
            let choice = abs(a - b) < gap ? "tie" : (a > b ? "A" : "B")
            if abs(a - b) < gap { ties += 1 } else { pairs += 1 }
            let r = try await s.post("/api/label", #"{"labeller":"script","item":\#(item),"choice":"\#(choice)"}"#)
            #expect(r.status == 200, "\(r.body)")
        }
        try await s.stop()
        let rows = try readRows(dir + "/prefs.jsonl")
        #expect(rows.count == pairs && pairs >= 30, "\(pairs) pairs, \(ties) ties")
        #expect(try readRows(dir + "/prefs.unpaired.jsonl").count == ties)
        // Every written pair agrees with the labeller's rule.
        for row in rows {
            let c = row["chosen"]?.array?.first?["content"]?.string ?? "", r = row["rejected"]?.array?.first?["content"]?.string ?? ""
            #expect(Self.score(c, keyword: keyword) >= Self.score(r, keyword: keyword) + gap)
        }

        let rm = try ConfigFile.load(RewardConfig.self, path: nil, overrides: [
            "model_path=\(fixtureModel("tiny-llama"))", "train_file=\(dir)/prefs.jsonl", "eval_fraction=0.3",
            "output_dir=\(dir)/rm", "batch_size=4", "learning_rate=0.003", "max_steps=150", "logging_steps=20", "seed=1"])
        let summary = try RewardTrainer(config: rm).train()
        let acc = summary.finalEval.first { $0.0 == "eval/accuracy" }!.1
        print("EndToEnd: \(pairs) pairs (\(ties) ties not written), held-out accuracy \(acc)")
        #expect(acc > 0.5, "held-out pairwise accuracy \(acc) on \(pairs) pairs")
    }
}
