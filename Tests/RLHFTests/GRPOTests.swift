// The critic-free estimators in the RL engine: one GRPO iteration against the PyTorch
// reference (Reference/reference_grpo.py: reference != policy, group-normalised scores, DAPO
// clip ranges with clipping active, k3 KL in the loss, per-sequence aggregation, two epochs x
// two minibatches, gradient clipping active), GRPO / RLOO / REINFORCE++ raising a rule
// reward end to end, exact resume without a critic, and the config checks.
import Data
import Foundation
import Generation
import Models
import NN
import RLHF
import SafeTensors
import TensorCore
import Testing

nonisolated(unsafe) let grpoGolden: [String: Any] = {
    try! JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: rlhfFixture("grpo_reference.json")))) as! [String: Any]
}()

@Suite(.serialized) struct GRPOTests {
    var cfg: [String: Any] { grpoGolden["config"] as! [String: Any] }
    var steps: [[String: Any]] { grpoGolden["steps"] as! [[String: Any]] }

    func referenceTrainer() throws -> PPOTrainer {
        let prompts = (grpoGolden["prompts"] as! [String]).map { "\"\($0)\"" }.joined(separator: ",")
        let c = try ppoConfig([
            "output_dir=\(runDir("grpo-ref"))", "prompt_data=[\(prompts)]", "reward_model_path=\(rlhfFixture("tiny-llama-rm"))",
            "ref_model_path=\(rlhfFixture("tiny-llama-ref"))", "advantage_estimator=grpo", "num_generations=\(cfg["num_generations"]!)",
            "scale_rewards=\(cfg["scale_rewards"]!)", "rollout_batch_size=2", "mini_batch_size=\(cfg["mini_batch_size"]!)",
            "ppo_epochs=2", "total_episodes=2", "kl_coef=0", "beta=\(cfg["beta"]!)", "clip_ratio=\(cfg["clip_low"]!)",
            "epsilon_high=\(cfg["clip_high"]!)", "loss_type=sequence_mean", "temperature=\(cfg["temperature"]!)",
            "entropy_coef=\(cfg["entropy_coef"]!)", "missing_eos_penalty=\(cfg["missing_eos_penalty"]!)",
            "lr_actor=\(cfg["lr_actor"]!)", "max_grad_norm=\(cfg["max_grad_norm"]!)", "max_gen_len=\(cfg["max_gen_len"]!)",
            "adam_epsilon=\(cfg["adam_epsilon"]!)",
        ])
        try c.validate(file: "test")
        return try PPOTrainer(config: c)
    }

    @Test func theFixtureExercisesWhatItChecks() {
        let maxNorm = number(cfg["max_grad_norm"])
        #expect(steps.count >= 4)
        #expect(steps.contains { number($0["clip_fraction"]) > 0 }, "the ratio clip must fire")
        #expect(steps.contains { number($0["actor_grad_norm"]) > maxNorm }, "gradient clipping must act")
        let old = grid(grpoGolden["old"]), ref = grid(grpoGolden["ref"])
        #expect(zip(old, ref).map { abs($0 - $1) }.max()! > 1e-3, "the reference differs from the policy")
        #expect(number(cfg["clip_high"]) != number(cfg["clip_low"]), "asymmetric clip ranges")
    }

    @Test func oneIterationMatchesThePyTorchReference() throws {
        let trainer = try referenceTrainer()
        #expect(trainer.critic == nil, "GRPO has no critic")
        let responses = (grpoGolden["responses"] as! [[Int]]).map { $0.map(Int32.init) }
        let g = cfg["num_generations"] as! Int
        let prompts = trainer.prompts.flatMap { Array(repeating: $0, count: g) }
        let gen = GenerationResult(prompts: try TokenBatch.leftPadded(prompts.map(\.ids), padId: trainer.padId), tokens: responses,
                                   logprobs: responses.map { $0.map { _ in 0 } }, samplingLogprobs: responses.map { $0.map { _ in 0 } },
                                   hitEOS: grpoGolden["hit_eos"] as! [Bool])
        var exp = try trainer.makeExperience(gen, prompts)
        let mask = exp.actionMask.scalars
        expectClose(exp.oldLogprobs.scalars, grid(grpoGolden["old"]), atol: 1e-5, "old logprobs", mask: mask)
        expectClose(exp.refLogprobs.scalars, grid(grpoGolden["ref"]), atol: 1e-5, "ref logprobs", mask: mask)
        expectClose(exp.rawScores, (grpoGolden["scores_raw"] as! [NSNumber]).map(\.floatValue), atol: 1e-5, "RM scores")
        expectClose(exp.advantages.scalars, grid(grpoGolden["advantages"]), atol: 1e-4, "group advantages on every token")
        let result = try trainer.update(&exp, orders: (grpoGolden["orders"] as! [[Int]]))
        #expect(result.steps.count == steps.count)
        for (i, (s, w)) in zip(result.steps, steps).enumerated() {
            for (name, ours, atol) in [("policy_loss", s.policyLoss, Float(1e-5)), ("clip_fraction", s.clipFraction, 1e-6),
                                       ("approx_kl", s.approxKL, 1e-5), ("entropy", s.entropy, 1e-4), ("actor_grad_norm", s.actorGradNorm, 1e-4)] {
                let want = number(w[name])
                #expect(abs(ours - want) <= atol * max(1, abs(want)), "step \(i) \(name): ours \(ours) vs reference \(want)")
            }
            #expect(s.valueLoss == 0 && s.criticGradNorm == 0)
        }
        let after = try SafeTensorsFile(path: rlhfFixture("grpo_after_update.safetensors"))
        for (name, t) in ModelDirectory.stateDict(trainer.actor, family: .llama) {
            let theirs = try after.tensor(named: "actor." + name).scalars
            let scale = max(theirs.map(abs).max() ?? 1, 1e-3)
            let worst = zip(t.scalars, theirs).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * scale, "actor.\(name): max |diff| \(worst) (max |param| \(scale))")
        }
    }

    @Test(arguments: ["grpo", "rloo", "reinforce_pp", "reinforce_pp_baseline"])
    func criticFreeEstimatorsRaiseARuleReward(estimator: String) throws {
        let dir = runDir("rl-\(estimator)")
        let prompts = ["The", "A story", "Once", "Hello", "My dog", "Today"].map { "\"\($0)\"" }.joined(separator: ",")
        let c = try ppoConfig(["output_dir=\(dir)", "prompt_data=[\(prompts)]", "rollout_batch_size=3", "num_generations=4",
                               "mini_batch_size=6", "total_episodes=90", "max_gen_len=6", "ppo_epochs=2", "lr_actor=0.01",
                               "kl_coef=0.01", "seed=5", "advantage_estimator=\(estimator)",
                               "reward={\"type\": \"length\", \"target\": 6, \"unit\": \"words\"}"])
        try c.validate(file: "test")
        let trainer = try PPOTrainer(config: c)
        #expect(trainer.critic == nil)
        let summary = try trainer.train()
        let scores = summary.history.map { value($0, "ppo/score_mean")! }
        let early = scores.prefix(5).reduce(0, +) / 5, late = scores.suffix(5).reduce(0, +) / 5
        #expect(late > early + 0.3, "\(estimator): mean rule reward \(early) -> \(late); all \(scores)")
        #expect(!FileManager.default.fileExists(atPath: dir + "/critic"), "no critic is saved")
    }

    @Test func resumedGRPOEqualsUninterrupted() throws {
        let prompts = ["one", "two", "three", "four"].map { "\"\($0)\"" }.joined(separator: ",")
        let common = ["prompt_data=[\(prompts)]", "rollout_batch_size=2", "num_generations=2", "mini_batch_size=2", "total_episodes=10",
                      "max_gen_len=4", "ppo_epochs=2", "save_steps=2", "lr_actor=0.001", "advantage_estimator=grpo", "beta=0.04",
                      "reward={\"type\": \"length\", \"target\": 2, \"unit\": \"tokens\"}", "ref_model_path=\(rlhfFixture("tiny-llama-ref"))"]
        let a = try PPOTrainer(config: try ppoConfig(common + ["output_dir=\(runDir("grpo-straight"))"])).train()
        let stopped = runDir("grpo-stopped")
        _ = try PPOTrainer(config: try ppoConfig(common + ["output_dir=\(stopped)"])).train(stopAfter: 3)
        let b = try PPOTrainer(config: try ppoConfig(common + ["output_dir=\(stopped)"])).train(resume: true)
        #expect(b.iterations == 5)
        for it in 3...5 {
            let keys = ["ppo/score_mean", "ppo/kl_mean", "ppo/policy_loss", "ppo/approx_kl"]
            let x = keys.map { value(a.history.last { $0.step == it }!, $0) }, y = keys.map { value(b.history.last { $0.step == it }!, $0) }
            #expect(x == y, "iteration \(it): \(x) vs resumed \(y)")
        }
    }

    @Test func theEngineRunsOnPartsInMemoryAndChecksThem() throws {
        let c = try ppoConfig(["output_dir=\(runDir("parts"))", "prompt_data=[\"Hello\", \"Once\"]", "rollout_batch_size=2",
                               "num_generations=2", "mini_batch_size=4", "total_episodes=2", "max_gen_len=3", "advantage_estimator=grpo",
                               "reward={\"type\": \"length\", \"target\": 2, \"unit\": \"tokens\"}"])
        var parts = try EngineParts.load(c, log: { _ in })
        #expect(parts.critic == nil)
        let trainer = try PPOTrainer(config: c, parts: parts)
        let metrics = try trainer.step()
        #expect(metrics.contains { $0.0 == "ppo/episodes" && $0.1 == 2 })
        var gae = c
        gae.advantageEstimator = .gae
        #expect(performing: { _ = try PPOTrainer(config: gae, parts: parts) },
                throws: { "\($0)".contains("advantage_estimator") && "\($0)".contains("needs a critic") })
        parts.prompts = []
        #expect(performing: { _ = try PPOTrainer(config: c, parts: parts) }, throws: { "\($0)".contains("no prompts") })
    }

    @Test func numIterationsIsTRLsNameForPPOEpochs() throws {
        #expect(try ppoConfig(["prompt_data=[\"a\"]", "num_iterations=3"]).ppoEpochs == 3)
        #expect(performing: { _ = try ppoConfig(["prompt_data=[\"a\"]", "num_iterations=3", "ppo_epochs=2"]) },
                throws: { "\($0)".contains("num_iterations") && "\($0)".contains("ppo_epochs") })
    }

    @Test func groupEstimatorsNeedSeveralGenerations() throws {
        for estimator in ["grpo", "rloo", "reinforce_pp_baseline"] {
            #expect(performing: { try ppoConfig(["prompt_data=[\"a\"]", "rollout_batch_size=1", "mini_batch_size=1",
                                                 "advantage_estimator=\(estimator)"]).validate(file: "c.json") },
                    throws: { "\($0)".contains("num_generations") && "\($0)".contains(">= 2") })
        }
        #expect(performing: { try ppoConfig(["prompt_data=[\"a\"]", "rollout_batch_size=3", "num_generations=2", "mini_batch_size=4",
                                             "advantage_estimator=grpo"]).validate(file: "c.json") },
                throws: { "\($0)".contains("mini_batch_size") })
    }
}
