// The bundled demo end to end at its small budget (fixed seed): every stage must do its job
// on the test split, and the files the run writes must show that nothing reported was
// trained or tuned on (splits disjoint and fairly sampled, PPO prompts from training with no
// test prompt among them, a judge that is not PPO's reward model). RLHF_DEMO_DIR=DIR runs
// the same file checks on an existing run's output, e.g. the README's full-budget run.
import Foundation
import RLHF
import Testing

@Suite struct DemoTests {
    @Test func smallBudgetRunsTheWholeRecipe() throws {
        let dir = NSTemporaryDirectory() + "rlhf-demo-\(UUID().uuidString)"
        let r = try DemoRunner(config: DemoConfig(budget: .small, outputDir: dir)).run()
        #expect(r.sftTestLoss.after < r.sftTestLoss.before - 0.5, "SFT test loss \(r.sftTestLoss)")
        #expect(r.rm.test.accuracy > 0.65, "RM test pairwise accuracy \(r.rm.test.accuracy) over \(r.rm.test.pairs) pairs")
        #expect(r.judge.test.accuracy > 0.6, "judge test pairwise accuracy \(r.judge.test.accuracy)")
        #expect(r.policies.map(\.algorithm) == [.ppo, .grpo, .dpo])
        for p in r.policies {
            if p.algorithm != .dpo {
                #expect(p.test.rm.mean > r.sft.rm.mean, "\(p.algorithm): test RM score SFT \(r.sft.rm.mean) -> \(p.test.rm.mean)")
            }
            #expect(p.test.klToSFT < 10, "\(p.algorithm): KL to the SFT model \(p.test.klToSFT) nats")
        }
        #expect(r.sft.rm.mean != r.sft.judge.mean, "the judge is another model than the RM")
        let html = try String(contentsOfFile: r.reportPath, encoding: .utf8)
        #expect(html.components(separatedBy: "<svg").count - 1 >= 6, "the report embeds its plots")
        for stage in ["sft/model.safetensors", "rm/model.safetensors", "judge/model.safetensors", "ppo/model.safetensors",
                      "grpo/model.safetensors", "dpo/model.safetensors", "tokenizer"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + stage), "\(stage) written")
        }
        try Self.checkNothingReportedWasTrainedOn(dir)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["RLHF_DEMO_DIR"] != nil))
    func existingRunKeepsTestApart() throws {
        try Self.checkNothingReportedWasTrainedOn(ProcessInfo.processInfo.environment["RLHF_DEMO_DIR"]!)
    }

    @Test func oneSeededPermutationCutsThreeDisjointSplits() throws {
        let all = try DemoData.load()
        let d = DemoData(snippets: all, validationFraction: 0.1, testFraction: 0.1, seed: 1234)
        #expect(d.validation.count == 1060 && d.test.count == 1060)
        let ids = [d.train, d.validation, d.test].map { Set($0.map(\.id)) }
        #expect(ids[0].isDisjoint(with: ids[1]) && ids[0].isDisjoint(with: ids[2]) && ids[1].isDisjoint(with: ids[2]))
        let texts = (d.train + d.validation + d.test).map(\.text)
        #expect(Set(texts).count == texts.count && texts.count == Set(all.map(\.text)).count, "every distinct text in exactly one split")
        for (name, split) in [("validation", d.validation), ("test", d.test), ("first 200 of test", Array(d.test.prefix(200)))] {
            #expect(Self.fairlySampled(split.map(\.rating), from: all.map(\.rating)), "\(name) has the data's sentiment mix")
        }
        let halves = d.rewardModelHalves
        #expect(Set(halves.rm.map(\.id)).isDisjoint(with: halves.judge.map(\.id)) && halves.rm.count + halves.judge.count == d.train.count)
        let other = DemoData(snippets: all, validationFraction: 0.1, testFraction: 0.1, seed: 1235)
        #expect(other.test.map(\.id) != d.test.map(\.id), "the seed picks the split")
    }

    @Test func promptsAreDistinctAndLeaveOutExcludedStrings() {
        let s = ["a b c d", "a b c e", "x y z", "p q r s", "x y z w"].enumerated().map { Snippet(id: $0, rating: 0, text: $1) }
        #expect(DemoData.prompts(s, words: 3) == ["a b c", "x y z", "p q r"])
        #expect(DemoData.prompts(s, words: 3, excluding: ["x y z"]) == ["a b c", "p q r"])
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

    // MARK: - Checks on what a run wrote

    /// A sample's mean rating within 4 standard errors of the whole data's: the bundled file
    /// is sorted by sentiment, so a prefix or suffix of it is far outside this.
    static func fairlySampled(_ sample: [Double], from all: [Double]) -> Bool {
        let mean = all.reduce(0, +) / Double(all.count)
        let sd = (all.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(all.count)).squareRoot()
        return abs(sample.reduce(0, +) / Double(sample.count) - mean) < 4 * sd / Double(sample.count).squareRoot()
    }

    /// The rows of a JSONL file the run wrote; a missing file is a failed expectation (and no
    /// rows), so a run that lacks several files shows every check it fails.
    static func rows(_ dir: String, _ file: String) throws -> [[String: Any]] {
        guard FileManager.default.fileExists(atPath: dir + "/" + file) else { Issue.record("\(file) missing"); return [] }
        return try String(contentsOfFile: dir + "/" + file, encoding: .utf8).split(separator: "\n").map {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]
        }
    }

    static func checkNothingReportedWasTrainedOn(_ dir: String) throws {
        let all = try DemoData.load()
        let rating = Dictionary(all.map { ($0.text, $0.rating) }, uniquingKeysWith: { a, _ in a })
        let words = DemoConfig(budget: .small, outputDir: dir).promptWords
        let prefix = { (t: String) in DemoData.prompt(Snippet(id: 0, rating: 0, text: t), words: words) }

        // The three splits: disjoint, together every distinct text, each a fair sample.
        let split = try ["train", "validation", "test"].map { name in
            try rows(dir, "data/\(name).jsonl").map { (id: $0["id"] as! Int, text: $0["text"] as! String) }
        }
        let (train, validation, test) = (Set(split[0].map(\.text)), Set(split[1].map(\.text)), Set(split[2].map(\.text)))
        #expect(train.isDisjoint(with: validation) && train.isDisjoint(with: test) && validation.isDisjoint(with: test), "splits disjoint")
        #expect(train.count + validation.count + test.count == Set(all.map(\.text)).count, "the splits cover the data")
        let tenth = { (n: Int) in abs(Double(n) / Double(rating.count) - 0.1) < 0.01 }
        #expect(tenth(validation.count) && tenth(test.count),
                "80/10/10: \(train.count)/\(validation.count)/\(test.count)")

        // SFT trains on training snippets and is evaluated on validation ones.
        let sftTrain = try rows(dir, "data/sft_train.jsonl").map { $0["text"] as! String }
        let sftEval = try rows(dir, "data/sft_eval.jsonl").map { $0["text"] as! String }
        #expect(Set(sftTrain) == train, "SFT trains on the training split")
        #expect(Set(sftEval).isSubset(of: validation), "SFT is evaluated on validation")
        #expect(fairlySampled(sftEval.map { rating[$0]! }, from: all.map(\.rating)), "SFT eval set has the data's sentiment mix")

        // Both reward models train on disjoint parts of the training split; their
        // during-training eval is validation.
        let completions = { (file: String) in try rows(dir, file).flatMap { $0["completions"] as! [String] } }
        let rmTrain = Set(try completions("data/rm_train.jsonl")), judgeTrain = Set(try completions("data/judge_train.jsonl"))
        let rmEval = try completions("data/rm_eval.jsonl")
        #expect(rmTrain.isSubset(of: train) && judgeTrain.isSubset(of: train), "reward models train on the training split")
        #expect(rmTrain.isDisjoint(with: judgeTrain), "the judge learns from snippets the RM never saw")
        #expect(Set(rmEval).isSubset(of: validation), "RM eval is validation")
        #expect(fairlySampled(rmEval.map { rating[$0]! }, from: all.map(\.rating)), "RM eval set has the data's sentiment mix")

        // PPO's prompts are training prefixes; the report's prompts are distinct test prefixes
        // and none of them is a PPO prompt.
        let ppoPrompts = Set(try rows(dir, "data/ppo_prompts.jsonl").map { $0["prompt"] as! String })
        let samples = try rows(dir, "samples.jsonl")
        let evalPrompts = samples.map { $0["prompt"] as! String }
        #expect(ppoPrompts.isSubset(of: Set(train.map(prefix))), "PPO prompts are training-split prefixes")
        #expect(Set(evalPrompts).isSubset(of: Set(test.map(prefix))), "report prompts are test-split prefixes")
        #expect(Set(evalPrompts).count == evalPrompts.count, "report prompts are distinct")
        let shared = ppoPrompts.intersection(evalPrompts)
        #expect(shared.isEmpty, "\(shared.count) report prompts are also PPO prompts, e.g. \(shared.sorted().prefix(3))")
        let promptSource = evalPrompts.compactMap { p in split[2].first { prefix($0.text) == p }.flatMap { rating[$0.text] } }
        #expect(fairlySampled(promptSource, from: all.map(\.rating)), "report prompts come from snippets of every sentiment")

        // The judge is not what PPO or GRPO optimised, and the report scores every model with both.
        let manifestURL = URL(fileURLWithPath: dir + "/data/manifest.json")
        let manifest = (try? JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL))) as? [String: Any] ?? [:]
        let algorithms = manifest["algorithms"] as? [String] ?? []
        #expect(!algorithms.isEmpty, "data/manifest.json names the trained policies")
        let expectedKeys = Set((["sft"] + algorithms).flatMap { ["\($0)_response", "\($0)_score", "\($0)_judge_score"] } + ["prompt"])
        #expect(Set(samples.first?.keys.map { $0 } ?? []) == expectedKeys)
        let html = try String(contentsOfFile: dir + "/report.html", encoding: .utf8)
        #expect(html.contains("optimised-RM score (gain)"), "report has the RM column")
        #expect(html.contains("judge score (gain)"), "report has the judge column")
        let rm = manifest["reward_model"] as? [String: Any], judge = manifest["judge"] as? [String: Any]
        let validationPrompts = manifest["validation_prompts"] as? [String] ?? []
        #expect(!validationPrompts.isEmpty && Set(validationPrompts).isSubset(of: Set(validation.map(prefix))),
                "validation prompts (to choose settings by) are validation-split prefixes")
        #expect(ppoPrompts.isDisjoint(with: validationPrompts) && Set(evalPrompts).isDisjoint(with: validationPrompts),
                "validation prompts are neither PPO nor test prompts")
        // The real-model recipe (`--model`) trains GRPO only.
        let online = algorithms.contains("ppo") ? "ppo" : "grpo"
        let ppoReward = (manifest[online] as? [String: Any])?["reward_model_path"] as? String
        #expect(ppoReward != nil && ppoReward == rm?["dir"] as? String && ppoReward != judge?["dir"] as? String,
                "data/manifest.json: \(online) optimises the RM, not the judge")
        if algorithms.contains("grpo") {
            let grpoReward = (manifest["grpo"] as? [String: Any])?["reward_model_path"] as? String
            #expect(grpoReward == ppoReward, "data/manifest.json: GRPO optimises the RM, not the judge")
        }
        if algorithms.contains("dpo") {
            // DPO learns from rated groups of training snippets; its during-training eval is validation.
            let dpo = manifest["dpo"] as? [String: Any]
            let dpoTrain = Set(try completions(dpo?["train_file"] as? String ?? "missing"))
            let dpoEval = Set(try completions(dpo?["eval_file"] as? String ?? "missing"))
            #expect(!dpoTrain.isEmpty && dpoTrain.isSubset(of: train) && dpoTrain.isDisjoint(with: judgeTrain),
                    "DPO trains on the RM's half of the training split")
            #expect(!dpoEval.isEmpty && dpoEval.isSubset(of: validation), "DPO is evaluated on validation")
        }
        #expect(judge?["seed"] as? Int != nil && judge?["seed"] as? Int != rm?["seed"] as? Int, "the judge has its own seed")
        let rmIds = Set(rm?["train_ids"] as? [Int] ?? []), judgeIds = Set(judge?["train_ids"] as? [Int] ?? [])
        #expect(!rmIds.isEmpty && !judgeIds.isEmpty && rmIds.isDisjoint(with: judgeIds)
                && rmIds.union(judgeIds) == Set(split[0].map(\.id)), "RM and judge split the training snippets in two")
    }
}
