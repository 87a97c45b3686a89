// Trainer-level tests of PPO options that were only tested as formulas, and of results that
// were wrong: exact episode counts, the kl_penalty beta driven by the KL measured after the
// update, reward normalisation by running statistics, BOS kept by prompt truncation, a reward
// model with its own tokenizer, k2/k3 in a run, top-k/top-p inside PPO.
import Data
import Foundation
import Generation
import Models
import RLHF
import RLMath
import RunKit
import TensorCore
import Testing
import Tokenizers

func metricLines(_ dir: String) throws -> [[String: Any]] {
    try String(contentsOfFile: dir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        .map { try JSONSerialization.jsonObject(with: Foundation.Data($0.utf8)) as! [String: Any] }
}

func value(_ record: MetricsRecord, _ name: String) -> Double? { record.scalars.first { $0.name == name }?.value }

@Suite(.serialized) struct PPOFixesTests {
    @Test func totalEpisodesCountsPromptsExactly() throws {
        // 10 prompts in batches of 8: batches continue into the next epoch's shuffle, so 64
        // episodes are 8 full iterations (not 8 iterations of 8, 2, 8, 2, ... = 40 prompts).
        let dir = runDir("ppo-episodes")
        let prompts = (0..<10).map { "\"prompt number \($0)\"" }.joined(separator: ",")
        let c = try ppoConfig(["output_dir=\(dir)", "prompt_data=[\(prompts)]", "rollout_batch_size=8", "mini_batch_size=8",
                               "total_episodes=64", "max_gen_len=2", "ppo_epochs=1", "reward={\"type\": \"length\", \"target\": 2}"])
        let summary = try PPOTrainer(config: c).train()
        let episodes = try metricLines(dir).map { ($0["ppo/episodes"] as? NSNumber)?.intValue }
        #expect(episodes == (1...8).map { $0 * 8 }, "cumulative ppo/episodes per iteration: \(episodes)")
        #expect(summary.history.last.flatMap { value($0, "ppo/episodes") } == 64)
        let samples = try String(contentsOfFile: dir + "/samples.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(samples.count == 64, "one sample row per episode")
        // Each prompt is seen 6 or 7 times (64 = 6 epochs of 10 + 4): epochs stay real.
        let seen = samples.map { (try! JSONSerialization.jsonObject(with: Foundation.Data($0.utf8)) as! [String: Any])["prompt"] as! String }
        let counts = Dictionary(grouping: seen, by: { $0 }).values.map(\.count)
        #expect(counts.count == 10 && counts.allSatisfy { $0 == 6 || $0 == 7 }, "visits per prompt: \(counts.sorted())")
    }

    @Test func aShortLastBatchStopsAtTotalEpisodes() throws {
        let dir = runDir("ppo-episodes-short")
        let c = try ppoConfig(["output_dir=\(dir)", "prompt_data=[\"a\", \"b\", \"c\"]", "rollout_batch_size=4", "mini_batch_size=2",
                               "total_episodes=10", "max_gen_len=2", "ppo_epochs=1", "reward={\"type\": \"length\", \"target\": 2}"])
        let summary = try PPOTrainer(config: c).train()
        #expect(summary.iterations == 3)
        #expect(summary.history.map { value($0, "ppo/episodes") } == [4, 8, 10])
        let samples = try String(contentsOfFile: dir + "/samples.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(samples.count == 10)
    }

    @Test func klPenaltyBetaFollowsTheKLMeasuredAfterTheUpdate() throws {
        let trainer = try PPOReference.trainer(["policy_loss=kl_penalty", "kl_penalty_target=0.05", "lr_actor=0.003"])
        for it in 0..<2 {
            let (gen, prompts) = try PPOReference.rollout(trainer, iteration: it)
            var exp = try trainer.makeExperience(gen, prompts)
            let betaBefore = try #require(trainer.penalty?.beta)
            let result = try trainer.update(&exp, orders: trainer.minibatchOrders(rows: exp.batch))
            // Measured here by hand: KL(pi_old || pi_new) = E_{a ~ pi_old}[log pi_old - log pi_new]
            // over the rollout, estimated with k3 on the sampled tokens, after every step.
            let now = try Tape.noGrad {
                try ActionScoring.logprobs(trainer.actor, exp.sequences, promptWidth: exp.promptWidth, actions: exp.actions,
                                           temperature: trainer.config.temperature).logprobs.value.scalars
            }
            let old = exp.oldLogprobs.scalars, mask = exp.actionMask.scalars
            var sum = 0.0, n = 0.0
            for i in old.indices where mask[i] != 0 {
                let r = Double(old[i] - now[i])
                sum += expm1(-r) + r
                n += 1
            }
            let d = sum / n
            #expect(d > 0, "the update moved the policy")
            let measured = try #require(result.means["ppo/penalty_kl"])
            #expect(abs(measured - d) <= 1e-5 * max(1, d), "iteration \(it): logged penalty KL \(measured) vs measured after the update \(d)")
            try trainer.controlKL(exp, result)
            let target = 0.05
            let want = d < target / 1.5 ? betaBefore / 2 : (d > target * 1.5 ? betaBefore * 2 : betaBefore)
            #expect(trainer.penalty?.beta == want, "iteration \(it): beta_pen \(betaBefore) -> \(trainer.penalty?.beta ?? .nan), KL \(d)")
        }
    }

    @Test func klPenaltyObjectiveLearnsEndToEnd() throws {
        let dir = runDir("ppo-klpen-learn")
        let prompts = ["The", "A story", "Once", "Hello", "My dog", "Today"].map { "\"\($0)\"" }.joined(separator: ",")
        let c = try ppoConfig(["output_dir=\(dir)", "prompt_data=[\(prompts)]", "rollout_batch_size=6", "mini_batch_size=3",
                               "total_episodes=180", "max_gen_len=6", "ppo_epochs=4", "lr_actor=0.003", "lr_critic=0.003",
                               "kl_coef=0.01", "seed=5", "policy_loss=kl_penalty", "kl_penalty_target=0.1", "kl_penalty_beta=0.3",
                               "reward={\"type\": \"length\", \"target\": 6, \"unit\": \"words\"}"])
        let summary = try PPOTrainer(config: c).train()
        let scores = summary.history.map { value($0, "ppo/score_mean")! }
        let kls = summary.history.map { value($0, "ppo/penalty_kl")! }, betas = summary.history.map { value($0, "ppo/kl_penalty_beta")! }
        let early = scores.prefix(5).reduce(0, +) / 5, late = scores.suffix(5).reduce(0, +) / 5
        #expect(late > early + 0.1, "mean rule reward: first iterations \(early), last \(late); all \(scores); KL \(kls); beta_pen \(betas)")
        #expect(kls.allSatisfy { $0 > 0 }, "KL after each update is positive: \(kls)")
        #expect(Set(betas).count > 1, "beta_pen adapts: \(betas)")
        let lines = try metricLines(dir)
        #expect(lines.count == 30 && lines.allSatisfy { $0["ppo/penalty_kl"] != nil && $0["ppo/kl_penalty_beta"] != nil })
    }

    @Test func normalizeRewardDividesByRunningStatistics() throws {
        // One prompt per batch: the batch's own statistics would make every score 0.
        let c = try ppoConfig(["output_dir=\(runDir("ppo-norm"))", "prompt_data=[\"Hello\"]", "rollout_batch_size=1", "mini_batch_size=1",
                               "normalize_reward=true", "reward={\"type\": \"length\", \"target\": 10, \"unit\": \"tokens\"}"])
        let trainer = try PPOTrainer(config: c)
        var seen: [Double] = [], got: [Float] = [], want: [Double] = []
        for n in [2, 5, 3, 6] {
            let tokens: [Int32] = (0..<n).map { Int32(40 + $0) }
            let gen = GenerationResult(prompts: try TokenBatch.leftPadded([trainer.prompts[0].ids], padId: trainer.padId),
                                       tokens: [tokens], logprobs: [tokens.map { _ in 0 }], samplingLogprobs: [tokens.map { _ in 0 }],
                                       hitEOS: [false])
            let exp = try trainer.makeExperience(gen, trainer.prompts)
            seen.append(Double(exp.rawScores[0]))
            // Running mean and sample std of every score so far, this one included.
            let mu = seen.reduce(0, +) / Double(seen.count)
            let sd = seen.count > 1 ? (seen.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(seen.count - 1)).squareRoot() : 0
            got.append(exp.scores[0]); want.append((seen.last! - mu) / max(sd, 1e-8))
        }
        #expect(Set(seen).count == 4, "the rule gives four different raw scores: \(seen)")
        for i in 1..<4 { #expect(abs(Double(got[i]) - want[i]) < 1e-4, "score \(i): \(got[i]) vs running-normalised \(want[i])") }
        #expect(got.dropFirst().allSatisfy { $0 != 0 }, "normalised scores: \(got)")
    }

    @Test func promptTruncationKeepsBOS() throws {
        let c = try ppoConfig(["output_dir=\(runDir("ppo-bos"))", "prompt_data=[\"What is the capital of France?\"]",
                               "rollout_batch_size=1", "mini_batch_size=1", "max_prompt_length=4",
                               "reward={\"type\": \"length\", \"target\": 2}"])
        let trainer = try PPOTrainer(config: c)
        let full = trainer.tokenizer.encode("What is the capital of France?").map(Int32.init)
        let bos = try #require(trainer.tokenizer.bosTokenId.map(Int32.init))
        #expect(full.first == bos && full.count > 4)
        #expect(trainer.prompts[0].ids == [bos] + full.suffix(3), "prompt \(trainer.prompts[0].ids) from \(full)")
    }

    @Test func aRewardModelWithItsOwnTokenizerSeesCompletionAndEOS() throws {
        // The same reward model under a tokenizer.json that differs in bytes only: re-encoding
        // must give what the reward trainer fed it (prompt, response, EOS), hence the scores
        // of the shared-vocabulary path, which reads the rollout ids themselves.
        let rmDir = runDir("rm-own-tok")
        try FileManager.default.createDirectory(atPath: rmDir, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: rlhfFixture("tiny-llama-rm")) {
            try FileManager.default.copyItem(atPath: rlhfFixture("tiny-llama-rm") + "/" + f, toPath: rmDir + "/" + f)
        }
        let tokJSON = try String(contentsOfFile: rmDir + "/tokenizer.json", encoding: .utf8)
        try FileManager.default.removeItem(atPath: rmDir + "/tokenizer.json")
        try (tokJSON + "\n").write(toFile: rmDir + "/tokenizer.json", atomically: true, encoding: .utf8)
        let common = ["prompt_data=[\"Tell me a story\", \"Hi\"]", "rollout_batch_size=2", "mini_batch_size=2"]
        let own = try PPOTrainer(config: try ppoConfig(common + ["output_dir=\(runDir("p1"))", "reward_model_path=\(rmDir)"]))
        let shared = try PPOTrainer(config: try ppoConfig(common + ["output_dir=\(runDir("p2"))",
                                                                    "reward_model_path=\(rlhfFixture("tiny-llama-rm"))"]))
        #expect(own.reward.name == rmDir)
        let eos = own.eosIds[0]
        let bodies = [" Once upon a time there was a dog.", " Hello!"].map { own.tokenizer.encode($0, addSpecialTokens: false).map(Int32.init) }
        let tokens = bodies.map { $0 + [eos] }
        let gen = GenerationResult(prompts: try TokenBatch.leftPadded(own.prompts.map(\.ids), padId: own.padId), tokens: tokens,
                                   logprobs: tokens.map { $0.map { _ in 0 } }, samplingLogprobs: tokens.map { $0.map { _ in 0 } },
                                   hitEOS: [true, true])
        let a = try own.makeExperience(gen, own.prompts).rawScores, b = try shared.makeExperience(gen, shared.prompts).rawScores
        expectClose(a, b, atol: 1e-5, "scores through the reward model's own tokenizer vs the rollout ids")
    }

    @Test func severalRewardsAreSummedWithTheirWeights() throws {
        let c = try ppoConfig(["output_dir=\(runDir("ppo-weights"))", "prompt_data=[\"Tell me a story\", \"Hi\"]", "rollout_batch_size=2",
                               "mini_batch_size=2", "reward_model_path=\(rlhfFixture("tiny-llama-rm"))",
                               "reward=[{\"type\": \"length\", \"target\": 3, \"unit\": \"words\"}, {\"type\": \"keywords\", \"words\": [\"dog\"]}]",
                               "reward_weights=[0.5, 2, -1]"])
        try c.validate(file: "test")
        let trainer = try PPOTrainer(config: c)
        let bodies = [" a big dog barked.", " Hello!"].map { trainer.tokenizer.encode($0, addSpecialTokens: false).map(Int32.init) }
        let tokens = bodies.map { $0 + [trainer.eosIds[0]] }
        let gen = GenerationResult(prompts: try TokenBatch.leftPadded(trainer.prompts.map(\.ids), padId: trainer.padId), tokens: tokens,
                                   logprobs: tokens.map { $0.map { _ in 0 } }, samplingLogprobs: tokens.map { $0.map { _ in 0 } },
                                   hitEOS: [true, true])
        let combined = try trainer.makeExperience(gen, trainer.prompts).rawScores
        let rmOnly = try PPOTrainer(config: try ppoConfig(["output_dir=\(runDir("ppo-w1"))", "prompt_data=[\"Tell me a story\", \"Hi\"]",
                                                           "rollout_batch_size=2", "mini_batch_size=2",
                                                           "reward_model_path=\(rlhfFixture("tiny-llama-rm"))"]))
        let rm = try rmOnly.makeExperience(gen, rmOnly.prompts).rawScores
        // length: -|words - 3| / 3 with 4 and 1 words; keywords: 1 and 0 mentions of "dog".
        let want = [0.5 * rm[0] + 2 * (-1.0 / 3) - 1 * 1, 0.5 * rm[1] + 2 * (-2.0 / 3) - 0]
        expectClose(combined, want, atol: 1e-5, "weighted sum of reward model, length and keyword scores")
        #expect(performing: { try ppoConfig(["prompt_data=[\"a\"]", "reward_model_path=x", "reward={\"type\": \"length\", \"target\": 3}",
                                             "reward_weights=[1]"]).validate(file: "c.json") },
                throws: { "\($0)".contains("reward_weights") && "\($0)".contains("1 weights for 2 reward sources") })
        #expect(performing: { _ = try ppoConfig(["prompt_data=[\"a\"]", "reward=[{\"type\": \"length\", \"targt\": 3}]"]) },
                throws: { "\($0)".contains("targt") })
    }

    @Test func klEstimatorsReachTheRunsRewards() throws {
        // Same seed, same rollout in iteration 1; the reference differs from the actor, so
        // k1, k2 and k3 give different KL, and k2/k3 are never negative.
        func firstKL(_ estimator: String) throws -> Double {
            let c = try ppoConfig(["output_dir=\(runDir("ppo-\(estimator)"))", "prompt_data=[\"Hello\", \"Once upon\"]",
                                   "rollout_batch_size=2", "mini_batch_size=2", "total_episodes=4", "max_gen_len=4",
                                   "ref_model_path=\(rlhfFixture("tiny-llama-ref"))", "kl_estimator=\(estimator)",
                                   "reward={\"type\": \"length\", \"target\": 3}"])
            let summary = try PPOTrainer(config: c).train()
            let kls = summary.history.map { value($0, "ppo/kl_mean")! }
            if estimator != "k1" { #expect(kls.allSatisfy { $0 >= 0 }, "\(estimator) KL: \(kls)") }
            return kls[0]
        }
        let k1 = try firstKL("k1"), k2 = try firstKL("k2"), k3 = try firstKL("k3")
        #expect(k1 != k2 && k2 != k3 && k1 != k3, "k1 \(k1), k2 \(k2), k3 \(k3)")
        #expect(k1 != 0, "the reference differs from the actor")
    }

    @Test func topKAndTopPShapeSamplingButLogprobsUseTheFullSoftmax() throws {
        for (k, p) in [(3, Float(1)), (0, Float(0.5))] {
            let c = try ppoConfig(["output_dir=\(runDir("ppo-topk"))", "prompt_data=[\"Hello\", \"Once upon\"]",
                                   "rollout_batch_size=2", "mini_batch_size=2", "max_gen_len=5", "temperature=0.8",
                                   "top_k=\(k)", "top_p=\(p)", "reward={\"type\": \"length\", \"target\": 3}"])
            let trainer = try PPOTrainer(config: c)
            let sampled = try trainer.rollout(trainer.prompts), gen = sampled.generation
            let exp = try trainer.makeExperience(gen, trainer.prompts)
            let logits = try Tape.noGrad {
                try ActionScoring.logprobs(trainer.actor, exp.sequences, promptWidth: exp.promptWidth, actions: exp.actions,
                                           temperature: 0.8).logits.value
            }
            let v = logits.shape[2]
            for r in 0..<2 {
                for (j, token) in gen.tokens[r].enumerated() {
                    let row = Array(logits.scalars[((r * exp.actionCount + j) * v)..<((r * exp.actionCount + j + 1) * v)])
                    let above = row.filter { $0 > row[Int(token)] }.count
                    if k > 0 { #expect(above < k, "row \(r) token \(j) ranks \(above + 1), outside top-\(k)") }
                    // The log-prob PPO uses is the full softmax at the temperature, not the
                    // renormalised truncated one the sampler drew from.
                    let full = exp.oldLogprobs.scalars[r * exp.actionCount + j]
                    #expect(abs(full - gen.logprobs[r][j]) < 1e-4)
                    #expect(gen.samplingLogprobs[r][j] > full + 1e-4, "the truncated distribution puts more mass on the token")
                }
            }
        }
    }
}
