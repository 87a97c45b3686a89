// PPO against the PyTorch reference (Reference/reference_ppo.py) on fixed rollouts: a
// reference model that differs from the actor, two epochs of two minibatches, clipping of
// ratios, values and gradients all active, two iterations with the adaptive KL controller,
// the kl_penalty objective and the k2/k3 rewards. A test of the fixture itself keeps a
// later regeneration from making the comparison hollow.
import Data
import Foundation
import Generation
import Models
import NN
import RLHF
import SafeTensors
import TensorCore
import Testing

nonisolated(unsafe) let ppoGolden: [String: Any] = {
    try! JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: rlhfFixture("ppo_reference.json")))) as! [String: Any]
}()

func grid(_ any: Any?) -> [Float] { (any as! [[NSNumber]]).flatMap { $0.map(\.floatValue) } }
func number(_ any: Any?) -> Float { (any as! NSNumber).floatValue }

func expectClose(_ ours: [Float], _ theirs: [Float], atol: Float, _ what: String, mask: [Float]? = nil,
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(ours.count == theirs.count, "\(what): \(ours.count) vs \(theirs.count) values", sourceLocation: sourceLocation)
    var worst: (Float, Int) = (0, -1)
    for i in 0..<min(ours.count, theirs.count) where mask?[i] ?? 1 != 0 {
        let d = abs(ours[i] - theirs[i])
        if d > worst.0 || d.isNaN { worst = (d, i) }
    }
    #expect(worst.0 <= atol, "\(what): max |diff| \(worst.0) at \(worst.1): ours \(worst.1 >= 0 ? ours[worst.1] : 0) vs reference \(worst.1 >= 0 ? theirs[worst.1] : 0)",
            sourceLocation: sourceLocation)
}

enum PPOReference {
    static var config: [String: Any] { ppoGolden["config"] as! [String: Any] }
    static var clipRun: [[String: Any]] { ppoGolden["clip_run"] as! [[String: Any]] }
    static var klPenaltyRun: [String: Any] { ppoGolden["kl_penalty_run"] as! [String: Any] }

    /// A trainer configured exactly as the reference script (`extra` overrides last).
    static func trainer(_ extra: [String] = []) throws -> PPOTrainer {
        let cfg = config
        let prompts = (ppoGolden["prompts"] as! [String]).map { "\"\($0)\"" }.joined(separator: ",")
        let c = try ppoConfig([
            "output_dir=\(runDir("ppo-ref"))", "prompt_data=[\(prompts)]", "reward_model_path=\(rlhfFixture("tiny-llama-rm"))",
            "ref_model_path=\(rlhfFixture("tiny-llama-ref"))",
            "rollout_batch_size=4", "mini_batch_size=\(cfg["mini_batch_size"]!)", "ppo_epochs=\(cfg["ppo_epochs"]!)", "total_episodes=8",
            "temperature=\(cfg["temperature"]!)", "kl_coef=\(cfg["kl_coef"]!)", "gamma=\(cfg["gamma"]!)", "lambda=\(cfg["lam"]!)",
            "clip_ratio=\(cfg["clip_ratio"]!)", "vf_coef=\(cfg["vf_coef"]!)", "cliprange_value=\(cfg["cliprange_value"]!)",
            "entropy_coef=\(cfg["entropy_coef"]!)", "missing_eos_penalty=\(cfg["missing_eos_penalty"]!)",
            "lr_actor=\(cfg["lr_actor"]!)", "lr_critic=\(cfg["lr_critic"]!)", "max_gen_len=\(cfg["max_gen_len"]!)",
            "max_grad_norm=\(cfg["max_grad_norm"]!)",
            "adaptive_kl={\"target\": \(cfg["adaptive_kl_target"]!), \"horizon\": \(cfg["adaptive_kl_horizon"]!)}",
            "kl_penalty_beta=\(cfg["kl_penalty_beta"]!)", "kl_penalty_target=\(cfg["kl_penalty_target"]!)",
        ] + extra)
        try c.validate(file: "test")
        return try PPOTrainer(config: c)
    }

    /// Iteration `it`'s fixed responses as a GenerationResult over the trainer's prompts.
    static func rollout(_ trainer: PPOTrainer, iteration it: Int = 0) throws -> (GenerationResult, [PromptExample]) {
        let run = clipRun[it]
        let responses = (run["responses"] as! [[Int]]).map { $0.map(Int32.init) }
        let batch = try TokenBatch.leftPadded(trainer.prompts.map(\.ids), padId: trainer.padId)
        let gen = GenerationResult(prompts: batch, tokens: responses, logprobs: responses.map { $0.map { _ in 0 } },
                                   samplingLogprobs: responses.map { $0.map { _ in 0 } }, hitEOS: run["hit_eos"] as! [Bool])
        return (gen, trainer.prompts)
    }

    static func expectExperience(_ exp: Experience, _ golden: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) {
        let mask = exp.actionMask.scalars
        expectClose(exp.oldLogprobs.scalars, grid(golden["old"]), atol: 1e-5, "old logprobs", mask: mask, sourceLocation: sourceLocation)
        expectClose(exp.refLogprobs.scalars, grid(golden["ref"]), atol: 1e-5, "ref logprobs", mask: mask, sourceLocation: sourceLocation)
        expectClose(exp.values.scalars, grid(golden["values"]), atol: 1e-5, "values", mask: mask, sourceLocation: sourceLocation)
        expectClose(exp.rawScores, (golden["raw"] as! [NSNumber]).map(\.floatValue), atol: 1e-5, "RM scores", sourceLocation: sourceLocation)
        expectClose(exp.rewards.scalars, grid(golden["rewards"]), atol: 1e-5, "rewards", sourceLocation: sourceLocation)
        expectClose(exp.returns.scalars, grid(golden["returns"]), atol: 1e-5, "returns", sourceLocation: sourceLocation)
        expectClose(exp.advantages.scalars, grid(golden["advantages"]), atol: 1e-4, "whitened advantages", sourceLocation: sourceLocation)
        expectClose(exp.klPerSequence, (golden["kl_per_seq"] as! [NSNumber]).map(\.floatValue), atol: 1e-5, "KL per sequence",
                    sourceLocation: sourceLocation)
    }

    /// Every recorded per-step statistic, step by step.
    static func expectSteps(_ ours: [PPOStepStats], _ theirs: [[String: Any]], _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(ours.count == theirs.count, "\(what): \(ours.count) optimizer steps vs \(theirs.count)", sourceLocation: sourceLocation)
        for (i, (s, g)) in zip(ours, theirs).enumerated() {
            let pairs: [(String, Float, Float)] = [
                ("policy_loss", s.policyLoss, 1e-5), ("value_loss", s.valueLoss, 1e-5), ("clip_fraction", s.clipFraction, 1e-6),
                ("value_clip_fraction", s.valueClipFraction, 1e-6), ("approx_kl", s.approxKL, 1e-5), ("entropy", s.entropy, 1e-4),
                ("actor_grad_norm", s.actorGradNorm, 1e-4), ("critic_grad_norm", s.criticGradNorm, 1e-5),
            ].map { ($0.0, $0.1, $0.2) }
            for (name, value, atol) in pairs {
                let want = number(g[name])
                #expect(abs(value - want) <= atol * max(1, abs(want)), "\(what) step \(i) \(name): ours \(value) vs reference \(want)",
                        sourceLocation: sourceLocation)
            }
        }
    }

    /// Every parameter of actor and critic against the reference's, <= 1e-4 relative to the
    /// tensor's largest magnitude.
    static func expectParameters(_ trainer: PPOTrainer, prefix: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let after = try SafeTensorsFile(path: rlhfFixture("ppo_after_update.safetensors"))
        for (role, model) in [("actor.", trainer.actor as Module), ("critic.", trainer.critic! as Module)] {
            for (name, t) in ModelDirectory.stateDict(model, family: .llama) {
                let theirs = try after.tensor(named: prefix + role + name).scalars
                let scale = max(theirs.map(abs).max() ?? 1, 1e-3)
                let worst = zip(t.scalars, theirs).map { abs($0 - $1) }.max() ?? 0
                #expect(worst <= 1e-4 * scale, "\(prefix)\(role)\(name): max |diff| \(worst) (max |param| \(scale))",
                        sourceLocation: sourceLocation)
            }
        }
    }
}

@Suite(.serialized) struct PPOParityTests {
    @Test func theFixtureExercisesEverythingItChecks() throws {
        let cfg = PPOReference.config
        #expect(number(cfg["gamma"]) < 1 && number(cfg["lam"]) < 1, "gamma and lambda must not be 1")
        let steps = PPOReference.clipRun.flatMap { $0["steps"] as! [[String: Any]] }
        #expect(steps.count >= 4, "several optimizer steps, so Adam's moments matter")
        // The reference differs from the actor: KL terms of both signs on valid tokens.
        var logRatios: [Float] = []
        for run in PPOReference.clipRun {
            let exp = run["experience"] as! [String: Any]
            let old = grid(exp["old"]), ref = grid(exp["ref"])
            let lengths = (run["responses"] as! [[Int]]).map(\.count), a = lengths.max()!
            for (r, n) in lengths.enumerated() { for j in 0..<n { logRatios.append(old[r * a + j] - ref[r * a + j]) } }
        }
        #expect((logRatios.map(abs).max() ?? 0) > 1e-3, "max |old - ref| logprob must exceed 1e-3")
        #expect(logRatios.contains { $0 > 1e-3 } && logRatios.contains { $0 < -1e-3 }, "KL terms of both signs")
        #expect(steps.contains { number($0["clip_fraction"]) > 0 }, "the ratio clip must fire")
        #expect(steps.contains { number($0["value_clip_fraction"]) > 0 }, "value clipping must fire")
        let maxNorm = number(cfg["max_grad_norm"])
        #expect(steps.contains { number($0["actor_grad_norm"]) > maxNorm || number($0["critic_grad_norm"]) > maxNorm },
                "some gradient norm must exceed max_grad_norm, so clipping acts")
        #expect(steps.contains { number($0["critic_grad_norm"]) < maxNorm }, "and some must not, so vf_coef shows unclipped")
        let betas = PPOReference.clipRun.map { number($0["beta"]) } + [number(PPOReference.clipRun.last!["beta_after"])]
        #expect(Set(betas).count == betas.count, "the adaptive controller must move beta: \(betas)")
        let pen = PPOReference.klPenaltyRun
        #expect(number(pen["beta_pen_after"]) != number(pen["beta_pen"]), "beta_pen must move")
        #expect(grid(ppoGolden["k2_rewards"]) != grid(ppoGolden["k3_rewards"]))
    }

    @Test func clipRunMatchesThePyTorchReferenceOverTwoIterations() throws {
        let trainer = try PPOReference.trainer()
        #expect(trainer.prompts.map { $0.ids.map(Int.init) } == (ppoGolden["prompt_ids"] as! [[Int]]))
        for (it, run) in PPOReference.clipRun.enumerated() {
            #expect(abs(trainer.klController.beta - number(run["beta"])) <= 1e-7, "iteration \(it): beta \(trainer.klController.beta)")
            let (gen, prompts) = try PPOReference.rollout(trainer, iteration: it)
            var exp = try trainer.makeExperience(gen, prompts)
            PPOReference.expectExperience(exp, run["experience"] as! [String: Any])
            let orders = run["orders"] as! [[Int]]
            let result = try trainer.update(&exp, orders: orders)
            PPOReference.expectSteps(result.steps, run["steps"] as! [[String: Any]], "iteration \(it)")
            try trainer.controlKL(exp, result)
            #expect(abs(trainer.klController.beta - number(run["beta_after"])) <= 1e-6,
                    "iteration \(it): beta after \(trainer.klController.beta) vs \(number(run["beta_after"]))")
        }
        try PPOReference.expectParameters(trainer, prefix: "clip.")
    }

    @Test func klPenaltyRunMatchesThePyTorchReference() throws {
        let trainer = try PPOReference.trainer(["policy_loss=kl_penalty", "kl_estimator=k3"])
        let (gen, prompts) = try PPOReference.rollout(trainer)
        var exp = try trainer.makeExperience(gen, prompts)
        expectClose(exp.rewards.scalars, grid(ppoGolden["k3_rewards"]), atol: 1e-5, "k3 rewards")
        let run = PPOReference.klPenaltyRun
        let result = try trainer.update(&exp, orders: (PPOReference.clipRun[0]["orders"] as! [[Int]]))
        PPOReference.expectSteps(result.steps, run["steps"] as! [[String: Any]], "kl_penalty")
        let d = try #require(result.postUpdateKL)
        #expect(abs(d - number(run["post_update_kl"])) <= 1e-5, "KL(pi_old || pi_new) after the update: \(d) vs \(number(run["post_update_kl"]))")
        #expect(result.means["ppo/penalty_kl"] == Double(d))
        try trainer.controlKL(exp, result)
        #expect(trainer.penalty?.beta == number(run["beta_pen_after"]))
        try PPOReference.expectParameters(trainer, prefix: "klpen.")
    }

    @Test func k2RewardsMatchThePyTorchReference() throws {
        let trainer = try PPOReference.trainer(["kl_estimator=k2"])
        let (gen, prompts) = try PPOReference.rollout(trainer)
        let exp = try trainer.makeExperience(gen, prompts)
        expectClose(exp.rewards.scalars, grid(ppoGolden["k2_rewards"]), atol: 1e-5, "k2 rewards")
    }
}
