// LoRA in the supervised trainers (`peft` in SFT, DPO and reward configs): an SFT adapter folder
// that loads through ModelBundle with the trainer's logits, exact resume with LoRA dropout on,
// optimizer state on the adapters only; DPO's adapter-off reference equal to a frozen copy; a
// LoRA reward model (PEFT's SEQ_CLS files, checked against Reference/reference_lora_seqcls.py)
// that loads as the RL engine's reward model. Leaves out the RL engine (LoRATrainingTests).
import Foundation
import Models
import NN
import RLHF
import RunKit
import SafeTensors
import TensorCore
import Testing

private let probe = try! TokenBatch(ids: [1, 5, 9, 3, 7, 2], batch: 1, time: 6)
private let sftPeft = "peft={\"r\": 4, \"lora_alpha\": 8, \"lora_dropout\": 0.2, \"target_modules\": [\"q_proj\", \"v_proj\", \"gate_proj\"]}"
private let rmPeft = "peft={\"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\", \"v_proj\", \"down_proj\"]}"

private func rewardConfig(_ overrides: [String]) throws -> RewardConfig {
    let c = try ConfigFile.load(RewardConfig.self, path: nil, overrides: [
        "model_path=\(rlhfFixture("tiny-llama-rm"))", "train_file=\(rlhfFixture("prefs.jsonl"))", "eval_fraction=0",
    ] + overrides)
    try c.validate(file: "test")
    return c
}

nonisolated(unsafe) private let seqcls: [String: Any] = {
    try! JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: rlhfFixture("lora-seqcls/golden.json"))))
        as! [String: Any]
}()

@Suite(.serialized) struct LoRASupervisedTests {
    @Test func sftAdapterLoadsViaModelBundleAndResumeIsExact() throws {
        let common = ["batch_size=1", "max_steps=6", "save_steps=2", "learning_rate=0.02", "lr_scheduler_type=constant",
                      "logging_steps=1", sftPeft]
        let straightDir = runDir("lora-sft")
        let a = try SFTTrainer(config: try sftConfig(common + ["output_dir=\(straightDir)"]))
        #expect(a.parameters.count == 3 * 2 * 2, "A and B of 3 targets x 2 layers, nothing else")
        let ha = try a.train().history
        let frozen = Set(a.parameters.map { ObjectIdentifier($0.1) })
        for (name, p) in a.model.namedParameters() where !frozen.contains(ObjectIdentifier(p)) {
            #expect(!p.requiresGrad && p.grad == nil, "base \(name) frozen")
        }
        // The output is a PEFT adapter folder (with the tokenizer) that loads base + adapter.
        #expect(try LoRAFiles.isAdapterOnly(straightDir) && FileManager.default.fileExists(atPath: straightDir + "/tokenizer.json"))
        let bundle = try ModelBundle(directory: straightDir)
        #expect(bundle.directory == URL(fileURLWithPath: rlhfFixture("tiny-llama")).standardizedFileURL.path)
        #expect(try bundle.model(probe).value.scalars == a.model(probe).value.scalars)
        #expect(try a.adapters!.withAdaptersDisabled { try a.model(probe).value.scalars } != a.model(probe).value.scalars,
                "training moved the adapters")
        // The checkpoint's optimizer state: AdamW's two moments for each adapter tensor only.
        let ckpt = try FileManager.default.contentsOfDirectory(atPath: straightDir).filter { $0.hasPrefix("checkpoint-") }
            .sorted().last!
        let opt = try SafeTensorsFile(path: "\(straightDir)/\(ckpt)/optimizer.safetensors")
        let keys = Set(a.parameters.map(\.0))
        #expect(Set(opt.names) == Set(keys.map { "exp_avg.\($0)" } + keys.map { "exp_avg_sq.\($0)" }))
        #expect(try LoRAFiles.isAdapterOnly("\(straightDir)/\(ckpt)/model"))

        let stoppedDir = runDir("lora-sft-stopped")
        _ = try SFTTrainer(config: try sftConfig(common + ["output_dir=\(stoppedDir)"])).train(stopAfter: 3)
        let b = try SFTTrainer(config: try sftConfig(common + ["output_dir=\(stoppedDir)"]))
        let hb = try b.train(resume: true).history
        for step in 3...6 {
            let x = value(ha.last { $0.step == step }!, "train/loss"), y = value(hb.last { $0.step == step }!, "train/loss")
            #expect(x == y, "step \(step): \(String(describing: x)) vs resumed \(String(describing: y))")
        }
        for ((k, p), (_, q)) in zip(a.parameters, b.parameters) { #expect(p.value.scalars == q.value.scalars, "resumed \(k)") }

        // Training on from the adapter folder continues that adapter; run.json fingerprints its config.
        let c = try SFTTrainer(config: try sftConfig(["output_dir=\(runDir("lora-sft-more"))", "model_path=\(straightDir)"]))
        #expect(c.adapters != nil && c.parameters.map(\.0) == a.parameters.map(\.0))
        #expect(try c.model(probe).value.scalars == a.model(probe).value.scalars)
        let fingerprint = c.runIdentityFields()["model_config"] ?? ""
        #expect(fingerprint.contains(LoRAFiles.configName) && !fingerprint.contains("missing"), "\(fingerprint)")
    }

    /// An adapter run written with overwrite into a full model's old output keeps that model's
    /// files (a run deletes nothing it did not write): loading the folder must not pick either
    /// silently.
    @Test func anAdapterOverAStaleFullModelIsRefusedNotLoaded() throws {
        let dir = runDir("lora-over-full")
        let fm = FileManager.default
        try fm.copyItem(atPath: rlhfFixture("tiny-llama"), toPath: dir)
        _ = try SFTTrainer(config: try sftConfig(["batch_size=1", "max_steps=1", "output_dir=\(dir)", "overwrite_output_dir=true",
                                                  sftPeft])).train()
        #expect(fm.fileExists(atPath: dir + "/config.json") && fm.fileExists(atPath: dir + "/adapter_config.json"))
        do {
            _ = try ModelBundle(directory: dir)
            Issue.record("a folder with a stale config.json beside the adapter loaded")
        } catch {
            #expect("\(error)".contains("config.json") && "\(error)".contains("adapter_config.json"), "\(error)")
        }
    }

    @Test func dpoAdapterOffReferenceEqualsAFrozenCopy() throws {
        let peft = sftPeft.replacingOccurrences(of: "0.2", with: "0")   // no dropout: the two runs' steps must agree
        let common = ["max_steps=4", "learning_rate=0.05", "batch_size=2", peft]
        let a = try DPOTrainer(config: try dpoConfig(common + ["ref_model_path=null", "output_dir=\(runDir("lora-dpo"))"]))
        #expect(a.reference === a.model && a.adapters != nil)
        let ha = try a.train().history
        // The same run with an explicit reference: a second, frozen copy of the base.
        let b = try DPOTrainer(config: try dpoConfig(common + ["ref_model_path=\(rlhfFixture("tiny-llama"))",
                                                               "output_dir=\(runDir("lora-dpo-copy"))"]))
        #expect(b.reference !== b.model)
        let hb = try b.train().history
        #expect(ha.count == 4 && hb.count == 4)
        for (ra, rb) in zip(ha, hb) {
            for k in ["train/loss", "train/rewards/margins", "train/grad_norm"] {
                let x = value(ra, k)!, y = value(rb, k)!
                #expect(abs(x - y) <= 1e-6 * max(abs(y), 1e-6), "step \(ra.step) \(k): adapter-off \(x) vs frozen copy \(y)")
            }
            #expect(value(ra, "train/grad_norm")! > 0, "the loss has a gradient")
        }
        #expect(ha.contains { abs(value($0, "train/rewards/margins")!) > 1e-4 }, "the policy left the reference")
        for ((k, p), (_, q)) in zip(a.parameters, b.parameters) {
            #expect(relativeDifference(p.value.scalars, q.value.scalars) <= 1e-6, "\(k)")
        }
    }

    @Test func peftsSeqClsAdapterLoadsWithItsScores() throws {
        let dir = rlhfFixture("lora-seqcls")
        let (model, fresh) = try ModelDirectory.loadScalarHead(dir)
        #expect(!fresh)
        let rows = (seqcls["rows"] as! [[Int]]), want = (seqcls["scores"] as! [NSNumber]).map(\.floatValue)
        for (row, w) in zip(rows, want) {
            let s = try model.lastTokenScores(try TokenBatch(ids: row.map(Int32.init), batch: 1, time: row.count)).value.item
            #expect(abs(s - w) <= 1e-5, "row \(row): ours \(s) vs PEFT \(w)")
        }
        // A reward-model adapter is not a causal-LM adapter, and the reverse.
        #expect(performing: { _ = try ModelBundle(directory: dir) }, throws: { "\($0)".contains("task_type") })
    }

    @Test func aLoRARewardModelLoadsWhereverARewardModelDoes() throws {
        let out = runDir("lora-rm")
        let t = try RewardTrainer(config: try rewardConfig(["output_dir=\(out)", "batch_size=2", "max_steps=3", "learning_rate=0.05",
                                                            rmPeft]))
        #expect(t.parameters.last!.0 == LoRAAdapters.scoreKey, "the score head trains with the adapters")
        let head = t.model.score.weight.value.scalars
        _ = try t.train()
        #expect(t.model.score.weight.value.scalars != head, "the head trained")
        // Our files: PEFT's keys and shapes for the same settings, task_type SEQ_CLS, the head saved.
        let ours = try SafeTensorsFile(path: out + "/" + LoRAFiles.weightsName)
        let theirs = seqcls["tensors"] as! [String: [Int]]
        #expect(Set(ours.names) == Set(theirs.keys))
        for name in ours.names { #expect(try ours.tensor(named: name).shape == theirs[name], "\(name)") }
        let config = try JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: out + "/adapter_config.json")))
            as! [String: Any]
        #expect(config["task_type"] as? String == seqcls["task_type"] as? String)
        #expect((config["modules_to_save"] as? [String])?.contains("score") == true)
        // As the RL reward model: it loads (a trained head) and scores as the trainer's model.
        let c = try ppoConfig(["output_dir=\(runDir("lora-rm-rl"))", "prompt_data=[\"Hello\"]", "reward_model_path=\(out)",
                               "advantage_estimator=grpo", "num_generations=2", "mini_batch_size=2", "rollout_batch_size=1"])
        let parts = try EngineParts.load(c, log: { _ in })
        let identity = try PPOTrainer(config: c, parts: parts).runIdentityFields()["reward_model_config"] ?? ""
        #expect(identity.contains(LoRAFiles.configName) && !identity.contains("missing"), "\(identity)")
        let rm = try #require(parts.reward as? ModelReward)
        #expect(try rm.model.lastTokenScores(probe).value.scalars == t.model.lastTokenScores(probe).value.scalars)
        // And as the critic's start (gae): the adapter keeps training, the base stays frozen.
        var gae = c
        gae.advantageEstimator = .gae
        gae.numGenerations = 1; gae.miniBatchSize = 1
        let withCritic = try EngineParts.load(gae, log: { _ in })
        #expect(withCritic.criticAdapters != nil && withCritic.criticAdapters!.scoreHead === withCritic.critic!.score)
    }

    @Test func peftErrorsInSupervisedConfigsNameTheFileAndField() throws {
        func message(_ body: () throws -> Void) -> String { do { try body(); return "" } catch { return "\(error)" } }
        let r0 = message { try sftConfig(["peft={\"r\": 0}"]).validate(file: "sft.json") }
        #expect(r0.contains("sft.json") && r0.contains("peft.r"), "\(r0)")
        let target = message { try rewardConfig(["peft={\"target_modules\": [\"c_fc\"]}"]).validate(file: "rm.json") }
        #expect(target.contains("peft.target_modules") && target.contains("c_fc"), "\(target)")
        let unknown = message { _ = try dpoConfig(["peft={\"rank\": 4}"]) }
        #expect(unknown.contains("rank"), "\(unknown)")
    }
}
