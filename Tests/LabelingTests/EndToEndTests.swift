// End to end: a scripted labeller works through the HTTP API like a person at the page,
// preferring the response with more of a keyword (a cue the text really carries) and calling
// near-equal counts a tie, and `rlhf reward`'s trainer learns from the rows it wrote: held-out
// accuracy beats chance, and beats a control trained on the same rows with every other pair
// flipped (no cue left). ~85 pairs: with ~40 the 13 held-out pairs could not tell a learnt cue
// from luck (a labeller with no taste scored 0.69 there). Tiny fixture model, ~15 s.
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
        let prompts = (0..<200).map { "Tell me about \(topics[$0 % topics.count]) number \($0):" }
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

        // The control: the same rows, every other pair flipped, so the keyword predicts nothing.
        let flipped = rows.enumerated().map { i, row -> String in
            guard i % 2 == 1, case .object(var f) = row else { return row.serialized }
            let c = f.firstIndex { $0.0 == "chosen" }!, r = f.firstIndex { $0.0 == "rejected" }!
            (f[c].1, f[r].1) = (f[r].1, f[c].1)
            return JSONValue.object(f).serialized
        }
        try (flipped.joined(separator: "\n") + "\n").write(toFile: dir + "/control.jsonl", atomically: true, encoding: .utf8)

        func heldOutAccuracy(_ file: String) throws -> Double {
            let rm = try ConfigFile.load(RewardConfig.self, path: nil, overrides: [
                "model_path=\(fixtureModel("tiny-llama"))", "train_file=\(dir)/\(file).jsonl", "eval_fraction=0.4",
                "output_dir=\(dir)/rm-\(file)", "batch_size=4", "learning_rate=0.003", "max_steps=150", "logging_steps=50", "seed=1"])
            return try RewardTrainer(config: rm).train().finalEval.first { $0.0 == "eval/accuracy" }!.1
        }
        let acc = try heldOutAccuracy("prefs"), control = try heldOutAccuracy("control")
        print("EndToEnd: \(pairs) pairs (\(ties) ties not written), held-out accuracy \(acc), flipped control \(control)")
        #expect(acc > 0.5 && acc > control, "held-out pairwise accuracy \(acc) (control \(control)) on \(pairs) pairs")
    }
}
