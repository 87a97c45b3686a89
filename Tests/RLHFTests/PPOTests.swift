// PPO behaviours: the source article's mistakes pinned, learning with a rule reward, exact
// resumption and the article's config run verbatim. Parity with PyTorch is in
// PPOParityTests; the fixes of issue-found wrong results in PPOFixesTests.
import Data
import Foundation
import Generation
import Models
import NN
import RLHF
import RunKit
import SafeTensors
import TensorCore
import Testing

func ppoConfig(_ overrides: [String]) throws -> PPOConfig {
    try ConfigFile.load(PPOConfig.self, path: nil, overrides: ["sft_model_path=\(rlhfFixture("tiny-llama"))"] + overrides)
}

@Suite(.serialized) struct PPOTests {
    func referenceTrainer() throws -> PPOTrainer { try PPOReference.trainer() }
    func fixedRollout(_ trainer: PPOTrainer) throws -> (GenerationResult, [PromptExample]) { try PPOReference.rollout(trainer) }

    // One pin per mistake of the source article's reference loop (docs/algorithms.md).

    @Test func paddingAfterEOSIsNeverAnAction() throws {
        let trainer = try referenceTrainer()
        let (gen, prompts) = try fixedRollout(trainer)
        let exp = try trainer.makeExperience(gen, prompts)
        let a = exp.actionCount
        for r in 0..<exp.batch {
            let row = exp.actionMask.scalars[(r * a)..<((r + 1) * a)]
            #expect(row.reduce(0, +) == Float(gen.tokens[r].count), "row \(r): action mask must stop at EOS")
            // Rewards, advantages and returns are zero on the padding after EOS.
            for j in gen.tokens[r].count..<a {
                #expect(exp.rewards.scalars[r * a + j] == 0 && exp.advantages.scalars[r * a + j] == 0 && exp.returns.scalars[r * a + j] == 0)
            }
        }
    }

    @Test func leftPaddedRowsAreScoredAtTheirLastRealTokenWithTheirOwnPositions() throws {
        let trainer = try referenceTrainer()
        let (gen, prompts) = try fixedRollout(trainer)
        let exp = try trainer.makeExperience(gen, prompts)
        // Each row alone (no padding at all) must give the same score, log-probs and values.
        for r in 0..<exp.batch {
            let one = GenerationResult(prompts: try TokenBatch.leftPadded([prompts[r].ids], padId: trainer.padId), tokens: [gen.tokens[r]],
                                       logprobs: [gen.logprobs[r]], samplingLogprobs: [gen.samplingLogprobs[r]], hitEOS: [gen.hitEOS[r]])
            let alone = try trainer.makeExperience(one, [prompts[r]])
            let n = gen.tokens[r].count, a = exp.actionCount
            expectClose([alone.rawScores[0]], [exp.rawScores[r]], atol: 1e-5, "row \(r) score")
            expectClose(Array(alone.oldLogprobs.scalars[0..<n]), Array(exp.oldLogprobs.scalars[(r * a)..<(r * a + n)]), atol: 1e-5, "row \(r) logprobs")
            expectClose(Array(alone.values.scalars[0..<n]), Array(exp.values.scalars[(r * a)..<(r * a + n)]), atol: 1e-5, "row \(r) values")
        }
        // The score lands on the last action of each row: r_last - (-beta kl_last) == shaped score.
        let a = exp.actionCount
        for r in 0..<exp.batch {
            let last = r * a + gen.tokens[r].count - 1
            let klLast = exp.oldLogprobs.scalars[last] - exp.refLogprobs.scalars[last]
            let beta = (ppoGolden["config"] as! [String: Any])["kl_coef"] as! Double
            #expect(abs(exp.rewards.scalars[last] + Float(beta) * klLast - exp.scores[r]) < 1e-5)
        }
    }

    @Test func samplingAndScoringUseTheSameDistribution() throws {
        let c = try ppoConfig(["output_dir=\(runDir("ppo-t"))", "prompt_data=[\"Hello\", \"Once upon\"]", "rollout_batch_size=2",
                               "mini_batch_size=2", "temperature=0.8", "top_k=0", "max_gen_len=5", "reward={\"type\": \"length\", \"target\": 3}"])
        let trainer = try PPOTrainer(config: c)
        let gen = try Generator.generate(trainer.actor, prompts: trainer.prompts.map(\.ids),
                                         config: SamplingConfig(maxNewTokens: 5, temperature: 0.8, eosTokenIds: trainer.eosIds, padTokenId: trainer.padId, seed: 3))
        let exp = try trainer.makeExperience(gen, trainer.prompts)
        for r in 0..<2 {
            for (j, lp) in gen.logprobs[r].enumerated() {
                #expect(abs(exp.oldLogprobs.scalars[r * exp.actionCount + j] - lp) < 1e-4, "row \(r) token \(j)")
            }
        }
    }

    @Test func aRewardModelWithoutATrainedHeadIsRefused() throws {
        let c = try ppoConfig(["output_dir=\(runDir("ppo-rm"))", "prompt_data=[\"a\"]", "reward_model_path=\(rlhfFixture("tiny-llama"))",
                               "rollout_batch_size=1", "mini_batch_size=1"])
        #expect(performing: { _ = try PPOTrainer(config: c) }, throws: { "\($0)".contains("no trained score head") })
    }

    @Test func promptsAreVisitedInRealEpochs() throws {
        let prompts = (0..<6).map { "\"prompt number \($0)\"" }.joined(separator: ",")
        let dir = runDir("ppo-epochs")
        let c = try ppoConfig(["output_dir=\(dir)", "prompt_data=[\(prompts)]", "rollout_batch_size=2", "mini_batch_size=2",
                               "total_episodes=12", "max_gen_len=2", "ppo_epochs=1", "reward={\"type\": \"length\", \"target\": 2}"])
        _ = try PPOTrainer(config: c).train()
        let lines = try String(contentsOfFile: dir + "/samples.jsonl", encoding: .utf8).split(separator: "\n")
        let seen = lines.map { try! JSONSerialization.jsonObject(with: Foundation.Data($0.utf8)) as! [String: Any] }.map { $0["prompt"] as! String }
        #expect(seen.count == 12)
        #expect(Set(seen.prefix(6)).count == 6 && Set(seen.suffix(6)).count == 6, "each epoch visits every prompt once: \(seen)")
    }

    @Test func theArticleConfigRunsVerbatimAndWarns() throws {
        let dir = runDir("article")
        let json = """
        {"sft_model_path": "\(rlhfFixture("tiny-llama"))", "output_dir": "\(dir)", "prompt_data": ["你好", "哈喽"],
         "ppo_epochs": 4, "mini_batch_size": 2, "rollout_batch_size": 2, "total_episodes": 100, "lr_actor": 1e-5,
         "lr_critic": 5e-5, "gamma": 0.99, "lambda": 0.95, "clip_ratio": 0.2, "kl_coef": 0.02, "vf_coef": 0.1, "max_gen_len": 50}
        """
        // The config file sits beside output_dir: a fresh run wants an empty output folder.
        try json.write(toFile: dir + "-ppo_config.json", atomically: true, encoding: .utf8)
        let c = try ConfigFile.load(PPOConfig.self, path: dir + "-ppo_config.json", overrides: [])
        try c.validate(file: "ppo_config.json")
        var warned = false
        let trainer = try PPOTrainer(config: c) { if $0.contains("UNTRAINED") { warned = true } }
        #expect(warned)
        let summary = try trainer.train()
        #expect(summary.iterations == 50)
        #expect(FileManager.default.fileExists(atPath: dir + "/model.safetensors"))
        #expect(FileManager.default.fileExists(atPath: dir + "/critic/model.safetensors"))
    }

    @Test func batchArithmeticAndUnknownKeysAreNamed() throws {
        #expect(performing: { try ppoConfig(["prompt_data=[\"a\"]", "rollout_batch_size=6", "mini_batch_size=4"]).validate(file: "c.json") },
                throws: { "\($0)".contains("mini_batch_size") && "\($0)".contains("multiple") })
        #expect(performing: { _ = try ppoConfig(["prompt_data=[\"a\"]", "kl_coeff=0.1"]) }, throws: { "\($0)".contains("kl_coeff") && "\($0)".contains("kl_coef") })
        #expect(performing: { _ = try ConfigFile.load(PPOConfig.self, path: nil, overrides: ["prompt_data=[\"a\"]"]) }, throws: { "\($0)".contains("sft_model_path") })
    }

    @Test func ruleRewardRisesWhileKLStaysBounded() throws {
        // Reward: responses of 6 words (-|words - 6| / 6). The random tiny model starts near
        // one word per response; more words means choosing tokens that begin with a space.
        let dir = runDir("ppo-learn")
        let prompts = ["The", "A story", "Once", "Hello", "My dog", "Today"].map { "\"\($0)\"" }.joined(separator: ",")
        let c = try ppoConfig(["output_dir=\(dir)", "prompt_data=[\(prompts)]", "rollout_batch_size=6", "mini_batch_size=3",
                               "total_episodes=180", "max_gen_len=6", "ppo_epochs=4", "lr_actor=0.003", "lr_critic=0.003",
                               "kl_coef=0.01", "seed=5", "reward={\"type\": \"length\", \"target\": 6, \"unit\": \"words\"}"])
        let summary = try PPOTrainer(config: c).train()
        let scores = summary.history.map { $0.scalars.first { $0.name == "ppo/score_mean" }!.value }
        let kls = summary.history.map { $0.scalars.first { $0.name == "ppo/kl_mean" }!.value }
        let early = scores.prefix(5).reduce(0, +) / 5, late = scores.suffix(5).reduce(0, +) / 5
        #expect(late > early + 0.1, "mean rule reward: first iterations \(early), last \(late); all \(scores)")
        #expect(kls.allSatisfy { $0 < 15 }, "KL per sequence stayed bounded: \(kls)")
    }

    @Test func resumedPPOEqualsUninterrupted() throws {
        let prompts = ["one", "two", "three", "four"].map { "\"\($0)\"" }.joined(separator: ",")
        let common = ["prompt_data=[\(prompts)]", "rollout_batch_size=2", "mini_batch_size=1", "total_episodes=10", "max_gen_len=4",
                      "ppo_epochs=2", "save_steps=2", "lr_actor=0.001", "adaptive_kl={\"target\": 0.5, \"horizon\": 100}",
                      "normalize_reward=true", "reward={\"type\": \"length\", \"target\": 2, \"unit\": \"tokens\"}"]
        let a = try PPOTrainer(config: try ppoConfig(common + ["output_dir=\(runDir("ppo-straight"))"])).train()
        let stopped = runDir("ppo-stopped")
        _ = try PPOTrainer(config: try ppoConfig(common + ["output_dir=\(stopped)"])).train(stopAfter: 3)
        let b = try PPOTrainer(config: try ppoConfig(common + ["output_dir=\(stopped)"])).train(resume: true)
        #expect(b.iterations == 5)
        let keys = ["ppo/score_mean", "ppo/kl_mean", "ppo/policy_loss", "ppo/value_loss", "ppo/beta"]
        func row(_ s: PPOSummary, _ it: Int) -> [Double] {
            let r = s.history.last { $0.step == it }!
            return keys.map { k in r.scalars.first { $0.name == k }!.value }
        }
        for it in 3...5 { #expect(row(a, it) == row(b, it), "iteration \(it): \(row(a, it)) vs resumed \(row(b, it))") }
    }
}
