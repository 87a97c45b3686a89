// DPO against the PyTorch reference (Reference/reference_dpo.py): a reference model that
// differs from the policy, three AdamW steps with gradient clipping active, TRL's statistics
// per step, every parameter after; the first batch's loss under cDPO, IPO, hinge and
// reference-free; learning a preference end to end; exact resume.
import Foundation
import Models
import NN
import RLHF
import RunKit
import SafeTensors
import TensorCore
import Testing

nonisolated(unsafe) let dpoGolden: [String: Any] = {
    try! JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: rlhfFixture("dpo_reference.json")))) as! [String: Any]
}()

func dpoConfig(_ overrides: [String]) throws -> DPOConfig {
    let cfg = dpoGolden["config"] as! [String: Any]
    let c = try ConfigFile.load(DPOConfig.self, path: nil, overrides: [
        "model_path=\(rlhfFixture("tiny-llama"))", "ref_model_path=\(rlhfFixture("tiny-llama-ref"))",
        "train_file=\(rlhfFixture("dpo_prefs.jsonl"))", "eval_fraction=0", "batch_size=4", "max_steps=\(cfg["steps"]!)",
        "learning_rate=\(cfg["learning_rate"]!)", "lr_scheduler_type=constant", "max_grad_norm=\(cfg["max_grad_norm"]!)",
        "logging_steps=1", "beta=\(cfg["beta"]!)", "adam_epsilon=\(cfg["adam_epsilon"]!)",
    ] + overrides)
    try c.validate(file: "test")
    return c
}

@Suite(.serialized) struct DPOTests {
    var steps: [[String: Any]] { dpoGolden["steps"] as! [[String: Any]] }

    @Test func theFixtureExercisesWhatItChecks() {
        let maxNorm = number((dpoGolden["config"] as! [String: Any])["max_grad_norm"])
        #expect(steps.count >= 2, "several optimizer steps, so Adam's moments matter")
        #expect(steps.contains { number($0["grad_norm"]) > maxNorm }, "gradient clipping must act")
        #expect(abs(number(steps[0]["rewards/chosen"])) > 1e-3, "the reference differs from the policy at step 0")
        #expect(Set(steps.map { number($0["rewards/accuracies"]) }).count > 1, "accuracy moves")
    }

    @Test func stepsAndParametersMatchThePyTorchReference() throws {
        let trainer = try DPOTrainer(config: try dpoConfig(["output_dir=\(runDir("dpo-ref"))"]))
        let batch = try trainer.batch([0, 1, 2, 3])
        #expect(batch.better.count == (dpoGolden["better"] as! [Int]).count, "comparisons: pairs and the rated group's")
        let first = try trainer.loss(batch)
        #expect(abs(first.loss.value.item - number(steps[0]["loss"])) <= 1e-5, "first loss \(first.loss.value.item)")
        let summary = try trainer.train()
        #expect(summary.steps == steps.count)
        for (i, g) in steps.enumerated() {
            let record = try #require(summary.history.first { $0.step == i + 1 })
            for key in ["loss", "grad_norm", "rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins",
                        "logps/chosen", "logps/rejected"] {
                let ours = try #require(value(record, "train/\(key)"), "step \(i + 1) has no train/\(key)")
                let want = Double(number(g[key]))
                #expect(abs(ours - want) <= 1e-4 * max(1, abs(want)), "step \(i + 1) \(key): ours \(ours) vs reference \(want)")
            }
        }
        let after = try SafeTensorsFile(path: rlhfFixture("dpo_after_steps.safetensors"))
        for (name, t) in ModelDirectory.stateDict(trainer.model, family: .llama) {
            let theirs = try after.tensor(named: name).scalars
            let scale = max(theirs.map(abs).max() ?? 1, 1e-3)
            let worst = zip(t.scalars, theirs).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-4 * scale, "\(name): max |diff| \(worst) (max |param| \(scale))")
        }
    }

    @Test(arguments: [("cdpo", ["label_smoothing=0.1"]), ("ipo", ["loss_type=ipo"]), ("hinge", ["loss_type=hinge"]),
                      ("reference_free", ["reference_free=true", "ref_model_path=null"])])
    func lossVariantsMatchOnTheFirstBatch(name: String, overrides: [String]) throws {
        let trainer = try DPOTrainer(config: try dpoConfig(["output_dir=\(runDir("dpo-\(name)"))"] + overrides))
        if name == "reference_free" { #expect(trainer.reference == nil) }
        let loss = try trainer.loss(try trainer.batch([0, 1, 2, 3])).loss.value.item
        let want = number((dpoGolden["variants_first_batch"] as! [String: Any])[name])
        #expect(abs(loss - want) <= 1e-5 * max(1, abs(want)), "\(name): \(loss) vs reference \(want)")
    }

    @Test func causalLMTrainersSwitchTheirDropoutOnAndOff() throws {
        // SFT and DPO share CausalLMTraining: its setTrainingRNG must be the one that runs.
        let dpo = try DPOTrainer(config: try dpoConfig(["output_dir=\(runDir("dpo-drop"))", "dropout=0.1"]))
        let sft = try SFTTrainer(config: try sftConfig(["output_dir=\(runDir("sft-drop"))", "dropout=0.1"]))
        for (name, trunk, set) in [("dpo", dpo.model.trunk, dpo.setTrainingRNG), ("sft", sft.model.trunk, sft.setTrainingRNG)] {
            set(RowStreams(seed: 1, rows: [0]))
            #expect(trunk.dropout != nil, "\(name): dropout on while training")
            set(nil)
            #expect(trunk.dropout == nil, "\(name): dropout off")
        }
    }

    @Test func dpoLearnsAHeldOutPreference() throws {
        // Chosen answers are cheerful, rejected ones gloomy, on prompts the eval split never
        // trains on: held-out accuracy and the implicit reward margin must rise.
        let dir = runDir("dpo-learn")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let subjects = ["the film", "my day", "the food", "this song", "the trip", "our team", "the weather", "the book",
                        "your plan", "the game", "the show", "the garden", "the class", "the party", "the town", "the market"]
        let rows = subjects.map { s in
            "{\"prompt\": \"How was \(s)?\", \"chosen\": \" Great, really great!\", \"rejected\": \" Awful, truly awful.\"}"
        }
        try rows.joined(separator: "\n").write(toFile: dir + "/prefs.jsonl", atomically: true, encoding: .utf8)
        let config = try ConfigFile.load(DPOConfig.self, path: nil, overrides: [
            "model_path=\(rlhfFixture("tiny-llama"))", "train_file=\(dir)/prefs.jsonl", "eval_fraction=0.25", "output_dir=\(dir)/run",
            "batch_size=4", "learning_rate=0.003", "max_steps=12", "eval_steps=12", "logging_steps=4", "beta=0.1"])
        let trainer = try DPOTrainer(config: config)
        func stat(_ m: [(String, Double)], _ k: String) -> Double { m.first { $0.0 == k }!.1 }
        let before = try trainer.evaluate()
        #expect(stat(before, "eval/rewards/margins") == 0, "the reference is the starting policy")
        let after = try trainer.train().finalEval
        #expect(stat(after, "eval/rewards/accuracies") == 1, "held-out accuracy \(stat(before, "eval/rewards/accuracies")) -> \(stat(after, "eval/rewards/accuracies"))")
        #expect(stat(after, "eval/rewards/margins") > 0.5, "held-out margin \(stat(after, "eval/rewards/margins"))")
        #expect(stat(after, "eval/loss") < stat(before, "eval/loss"))
    }

    @Test func resumedDPOEqualsUninterrupted() throws {
        let common = ["batch_size=2", "max_steps=6", "save_steps=2", "num_train_epochs=3"]
        let straight = try DPOTrainer(config: try dpoConfig(common + ["output_dir=\(runDir("dpo-straight"))"]))
        let full = try straight.train()
        let stopped = runDir("dpo-stopped")
        _ = try DPOTrainer(config: try dpoConfig(common + ["output_dir=\(stopped)"])).train(stopAfter: 3)
        let second = try DPOTrainer(config: try dpoConfig(common + ["output_dir=\(stopped)"]))
        let resumed = try second.train(resume: true)
        #expect(resumed.steps == 6)
        func losses(_ s: TrainingSummary) -> [Double] { s.history.filter { $0.step >= 3 }.suffix(4).map { value($0, "train/loss")! } }
        #expect(losses(full) == losses(resumed))
        for ((n, a), (_, b)) in zip(straight.model.namedParameters(), second.model.namedParameters()) {
            #expect(a.value.scalars == b.value.scalars, "\(n) differs after resuming")
        }
    }
}
