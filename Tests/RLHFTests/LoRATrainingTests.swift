// LoRA in the trainers (`peft` sections): RL with the adapter-off reference equals RL with a
// frozen copy of the base (GRPO, and gae PPO with a LoRA critic), the frozen base (no grads,
// optimizer state on the adapters only, with a memory figure), saved adapter folders that load
// as PEFT does, exact resume, and config errors naming `peft.<field>`. Leaves out the
// supervised trainers (LoRASupervisedTests).
import Foundation
import Models
import NN
import RLHF
import RunKit
import SafeTensors
import TensorCore
import Testing

let loraPrompts = ["The", "A story", "Once", "Hello"].map { "\"\($0)\"" }.joined(separator: ",")
let loraPeft = "peft={\"r\": 4, \"lora_alpha\": 16, \"target_modules\": [\"q_proj\", \"v_proj\", \"up_proj\", \"down_proj\"]}"

/// A short RL run on tiny-llama with LoRA on the actor: lr high enough that the ratio clip fires
/// and the policy leaves the base (KL > 0) within a few iterations.
func loraRLConfig(_ estimator: String, _ extra: [String] = []) throws -> PPOConfig {
    var o = ["output_dir=\(runDir("lora-rl-\(estimator)"))", "prompt_data=[\(loraPrompts)]", "rollout_batch_size=2", "max_gen_len=5",
             "ppo_epochs=2", "total_episodes=8", "lr_actor=0.05", "lr_critic=0.01", "kl_coef=0.05", "seed=3", loraPeft,
             "reward={\"type\": \"length\", \"target\": 4, \"unit\": \"tokens\"}", "advantage_estimator=\(estimator)"]
    o += estimator == "grpo" ? ["num_generations=2", "mini_batch_size=2", "beta=0.1"] : ["mini_batch_size=1"]
    if estimator == "gae" { o.append("critic_peft={\"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\"]}") }
    let c = try ppoConfig(o + extra)
    try c.validate(file: "test")
    return c
}

func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
    let d = zip(a, b).reduce(Float(0)) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
    let n = b.reduce(Float(0)) { $0 + $1 * $1 }.squareRoot()
    return d / max(n, 1e-12)
}

@Suite(.serialized) struct LoRATrainingTests {
    @Test(arguments: ["grpo", "gae"])
    func adapterOffReferenceEqualsAFrozenCopyOfTheBase(estimator: String) throws {
        let c = try loraRLConfig(estimator)
        // A: EngineParts.load builds the reference as the actor itself (adapters off).
        let partsA = try EngineParts.load(c, log: { _ in })
        #expect(partsA.adapters != nil && partsA.reference === partsA.actor, "one copy of the weights")
        #expect((partsA.criticAdapters != nil) == (estimator == "gae"))
        let a = try PPOTrainer(config: c, parts: partsA)
        let ha = try a.train().history
        // B: the same run with an explicit frozen copy of the base as reference.
        var c2 = c
        c2.outputDir = runDir("lora-rl-copy")
        var partsB = try EngineParts.load(c2, log: { _ in })
        let copy = try ModelDirectory.loadCausalLM(rlhfFixture("tiny-llama"))
        for p in copy.parameters() { p.requiresGrad = false }
        partsB.reference = copy
        let b = try PPOTrainer(config: c2, parts: partsB)
        let hb = try b.train().history
        #expect(ha.count == c.iterations && ha.count >= 3)
        for (ra, rb) in zip(ha, hb) {
            for k in ["ppo/policy_loss", "ppo/kl_mean", "ppo/approx_kl", "ppo/clip_fraction", "ppo/score_mean", "ppo/value_loss"] {
                guard let x = value(ra, k) else { continue }
                let y = value(rb, k)!
                #expect(abs(x - y) <= 1e-6 * max(abs(y), 1e-6), "iteration \(ra.step) \(k): adapter-off \(x) vs frozen copy \(y)")
            }
        }
        let kls = ha.map { value($0, "ppo/kl_mean")! }
        #expect(kls.contains { $0 > 1e-4 }, "the policy must leave the reference: \(kls)")
        #expect(ha.contains { value($0, "ppo/clip_fraction")! > 0 }, "the ratio clip must fire")
        for ((ka, va), (kb, vb)) in zip(a.adapters!.namedParameters(), b.adapters!.namedParameters()) {
            #expect(ka == kb)
            #expect(relativeDifference(va.value.scalars, vb.value.scalars) <= 1e-6, "\(ka)")
        }
        if estimator == "gae" {
            for ((k, va), (_, vb)) in zip(a.criticAdapters!.namedParameters(), b.criticAdapters!.namedParameters()) {
                #expect(relativeDifference(va.value.scalars, vb.value.scalars) <= 1e-6, "critic \(k)")
            }
        }
    }

    @Test func theBaseStaysFrozenAndTheOptimizerHoldsTheAdaptersOnly() throws {
        let c = try loraRLConfig("gae", ["total_episodes=2"])
        let base = try ModelDirectory.loadCausalLM(rlhfFixture("tiny-llama"))
        let t = try PPOTrainer(config: c)
        _ = try t.step()
        let adapters = t.adapters!, critic = t.criticAdapters!
        let adapterIDs = Set(adapters.parameters().map(ObjectIdentifier.init))
        for (name, p) in t.actor.namedParameters() where !adapterIDs.contains(ObjectIdentifier(p)) {
            #expect(!p.requiresGrad && p.grad == nil, "base \(name) must stay frozen")
        }
        for ((name, p), (_, q)) in zip(t.actor.namedParameters(), base.namedParameters()) {
            #expect(p.value.scalars == q.value.scalars, "base \(name) changed")
        }
        #expect(adapters.sites.contains { $0.lora.b.value.scalars.contains { $0 != 0 } }, "the adapters trained")
        // Rollouts sample from the adapted actor (adapters on), not from the base.
        let one = Array(t.prompts.prefix(1))
        let on = try t.rollout(one).generation.logprobs
        let off = try adapters.withAdaptersDisabled { try t.rollout(one).generation.logprobs }
        #expect(on != off, "rollout log-probs must follow the adapters")
        let opt = t.actorOptimizer
        #expect(opt.parameters.count == adapters.parameters().count)
        #expect(Set(opt.parameters.map(ObjectIdentifier.init)) == adapterIDs)
        let stateBytes = (opt.m + opt.v).reduce(0) { $0 + ($1?.count ?? 0) } * 4
        let adapterValues = adapters.parameters().reduce(0) { $0 + $1.value.count }
        #expect(stateBytes == 2 * 4 * adapterValues, "AdamW keeps m and v for each adapter value, nothing else")
        // The critic: its adapters and score head only.
        let criticOpt = t.criticOptimizer!
        #expect(criticOpt.parameters.count == critic.parameters().count)
        #expect(criticOpt.parameters.contains { $0 === t.critic!.score.weight }, "the critic's head trains")
        let fullValues = base.parameters().reduce(0) { $0 + $1.value.count }
        print("memory (measured, tiny-llama fixture): AdamW state full \(2 * 4 * fullValues) B vs LoRA \(stateBytes) B "
              + "(\(adapterValues) of \(fullValues) values train)")
        // SmolLM2-135M's shape by arithmetic from its parameter counts (hidden 576, 30 layers,
        // 9 heads / 3 KV heads of 64, MLP 1536, vocabulary 49152, tied): r 8 on q_proj, v_proj.
        let (h, layers, kv, mlp, vocab) = (576, 30, 192, 1536, 49152)
        let full = vocab * h + layers * (h * h + 2 * h * kv + h * h + 3 * h * mlp + 2 * h) + h
        let lora = layers * (8 * h + h * 8 + 8 * h + kv * 8)
        print("memory (arithmetic, SmolLM2-135M shape): \(full) parameters, AdamW state full \(2 * 4 * full) B "
              + "vs LoRA r=8 q_proj,v_proj \(2 * 4 * lora) B (\(lora) adapter values)")
    }

    @Test func savedAdaptersLoadAsPEFTDoesAndResumeIsExact() throws {
        // LoRA dropout on: the resumed run must draw the same masks.
        let dropout = loraPeft.replacingOccurrences(of: "\"r\": 4,", with: "\"r\": 4, \"lora_dropout\": 0.3,")
        let common = ["total_episodes=10", "save_steps=2", dropout]
        let straight = try loraRLConfig("gae", common)
        let a = try PPOTrainer(config: straight)
        let ha = try a.train().history
        var stoppedConfig = try loraRLConfig("gae", common)
        let stopped = stoppedConfig.outputDir
        _ = try PPOTrainer(config: stoppedConfig).train(stopAfter: 3)
        // The checkpoint holds adapter folders, not models.
        let ckpt = try FileManager.default.contentsOfDirectory(atPath: stopped).first { $0.hasPrefix("checkpoint-") }!
        #expect(try LoRAFiles.isAdapterOnly(stopped + "/" + ckpt + "/actor") && LoRAFiles.isAdapterOnly(stopped + "/" + ckpt + "/critic"))
        stoppedConfig.outputDir = stopped
        let b = try PPOTrainer(config: stoppedConfig)
        let hb = try b.train(resume: true).history
        for it in 3...5 {
            let keys = ["ppo/score_mean", "ppo/kl_mean", "ppo/policy_loss", "ppo/value_loss"]
            let x = keys.map { value(ha.last { $0.step == it }!, $0) }, y = keys.map { value(hb.last { $0.step == it }!, $0) }
            #expect(x == y, "iteration \(it): \(x) vs resumed \(y)")
        }
        for ((k, p), (_, q)) in zip(a.adapters!.namedParameters(), b.adapters!.namedParameters()) {
            #expect(p.value.scalars == q.value.scalars, "resumed \(k)")
        }
        for (i, (m, n)) in zip(a.actorOptimizer.m, b.actorOptimizer.m).enumerated() { #expect(m?.scalars == n?.scalars, "moment \(i)") }
        // Dropout acts in the update: without it the adapters end elsewhere.
        let plain = try PPOTrainer(config: try loraRLConfig("gae", ["total_episodes=10"]))
        _ = try plain.train()
        #expect(zip(plain.adapters!.parameters(), a.adapters!.parameters()).contains { $0.0.value.scalars != $0.1.value.scalars })
        // The final actor is an adapter folder naming the base (absolute); it loads via ModelBundle.
        let out = straight.outputDir
        #expect(try LoRAFiles.isAdapterOnly(out) && FileManager.default.fileExists(atPath: out + "/tokenizer.json"))
        let (_, recorded) = try LoRAFiles.loadConfig(out)
        #expect(recorded == URL(fileURLWithPath: rlhfFixture("tiny-llama")).standardizedFileURL.path)
        let bundle = try ModelBundle(directory: out)
        let probe = try TokenBatch(ids: [1, 5, 9, 3, 7, 2], batch: 1, time: 6)
        #expect(try bundle.model(probe).value.scalars == a.actor(probe).value.scalars)
        // The critic: a SEQ_CLS adapter with its head; it loads as a scalar-head model.
        let (critic, _) = try ModelDirectory.loadScalarHead(out + "/critic")
        #expect(try critic.values(probe).value.scalars == a.critic!.values(probe).value.scalars)
    }

    @Test func peftSectionErrorsNameTheFileAndField() throws {
        func message(_ extra: [String]) -> String {
            do { try ppoConfig(["prompt_data=[\"a\"]"] + extra).validate(file: "ppo.json"); return "" } catch { return "\(error)" }
        }
        let unknown = message(["peft={\"r\": 4, \"lora_alpah\": 8}"])
        #expect(unknown.contains("lora_alpah") && unknown.contains("peft"), "\(unknown)")
        let target = message(["peft={\"target_modules\": [\"c_attn\"]}"])
        #expect(target.contains("ppo.json") && target.contains("peft.target_modules") && target.contains("c_attn"), "\(target)")
        let rank = message(["peft={\"r\": 0}"])
        #expect(rank.contains("ppo.json") && rank.contains("peft.r"), "\(rank)")
        let critic = message(["critic_peft={\"r\": 0}"])
        #expect(critic.contains("critic_peft.r"), "\(critic)")
    }
}
