// SFT and reward-model trainers: loss parity with transformers/PyTorch on fixture batches,
// one AdamW step equal to torch's, exact resumption, and learning on tiny budgets.
import Data
import Foundation
import Models
import RLHF
import RunKit
import SafeTensors
import TensorCore
import Testing

nonisolated(unsafe) let trainerGolden: [String: Any] = {
    try! JSONSerialization.jsonObject(with: Foundation.Data(contentsOf: URL(fileURLWithPath: rlhfFixture("trainers.json")))) as! [String: Any]
}()

func runDir(_ tag: String) -> String { NSTemporaryDirectory() + "rlhf-\(tag)-\(UUID().uuidString)" }

func sftConfig(_ overrides: [String]) throws -> SFTConfig {
    try ConfigFile.load(SFTConfig.self, path: nil, overrides: [
        "model_path=\(rlhfFixture("tiny-llama"))", "train_file=\(rlhfFixture("sft.jsonl"))", "eval_fraction=0",
    ] + overrides)
}

@Suite(.serialized) struct TrainerTests {
    @Test func sftLossAndOneAdamWStepMatchTransformers() throws {
        let config = try sftConfig(["output_dir=\(runDir("sft1"))", "batch_size=3", "learning_rate=0.001", "max_steps=1",
                                    "lr_scheduler_type=constant", "logging_steps=1"])
        let trainer = try SFTTrainer(config: config)
        let batch = try trainer.batch([0, 1, 2])
        let goldIds = (trainerGolden["sft_ids"] as! [[Int]]).flatMap { $0 }.map(Int32.init)
        let goldLabels = (trainerGolden["sft_labels"] as! [[Int]]).flatMap { $0 }.map(Int32.init)
        // Same tokens; the collator pads with the pad id, transformers' batch with EOS.
        for i in 0..<goldIds.count where batch.attentionMask[i] != 0 { #expect(batch.ids[i] == goldIds[i]) }
        #expect(batch.labels == goldLabels)
        let loss = try trainer.loss(batch).loss.value.item
        let hf = Float((trainerGolden["sft_loss"] as! NSNumber).doubleValue)
        #expect(abs(loss - hf) <= 1e-5, "SFT loss \(loss) vs transformers \(hf)")

        let summary = try trainer.train()
        #expect(summary.steps == 1)
        let norm = summary.history.last!.scalars.first { $0.name == "train/grad_norm" }!.value
        #expect(abs(norm - (trainerGolden["sft_grad_norm"] as! NSNumber).doubleValue) < 1e-4)
        let after = try SafeTensorsFile(path: rlhfFixture("sft_after_step.safetensors"))
        for (hfName, tensor) in ModelDirectory.stateDict(trainer.model, family: .llama) {
            let theirs = try after.tensor(named: hfName).scalars
            let worst = zip(tensor.scalars, theirs).map { abs($0 - $1) }.max() ?? 0
            #expect(worst <= 2e-6, "\(hfName) after one AdamW step: max |diff| \(worst)")
        }
    }

    @Test func bradleyTerryLossMatchesPyTorch() throws {
        let config = try ConfigFile.load(RewardConfig.self, path: nil, overrides: [
            "model_path=\(rlhfFixture("tiny-llama-rm"))", "train_file=\(rlhfFixture("prefs.jsonl"))", "eval_fraction=0",
            "output_dir=\(runDir("rm1"))"])
        let trainer = try RewardTrainer(config: config)
        let (loss, metrics, _) = try trainer.loss(try trainer.batch([0, 1]))
        let bt = Float((trainerGolden["bt_loss"] as! NSNumber).doubleValue)
        #expect(abs(loss.value.item - bt) <= 1e-5, "BT loss \(loss.value.item) vs PyTorch \(bt)")
        let rewards = (trainerGolden["rm_rewards"] as! [NSNumber]).map(\.doubleValue)
        let acc = Double(zip(rewards[..<2], rewards[2...]).filter { $0 > $1 }.count) / 2
        #expect(metrics.first { $0.0 == "train/accuracy" }!.1 == acc)
    }

    @Test func ratedGroupEqualsItsComparisonsAsPairs() throws {
        // One rated row of 4 responses (min_rating_gap 1.5 keeps 4 of its 6 pairs, one response in 3) must give
        // the loss, accuracy and every gradient of the same 4 comparisons written as pair rows
        // (whose BT loss is checked against PyTorch above), though it scores each response once.
        let dir = runDir("rated")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let texts = [" red", " a green hat", " blue", " yellow sun today"], ratings = [3.0, 1.0, -0.5, 2.0]
        let quoted = texts.map { "\"\($0)\"" }.joined(separator: ", ")
        try "{\"prompt\": \"Colors:\", \"completions\": [\(quoted)], \"ratings\": [3, 1.0, -0.5, 2]}\n"
            .write(toFile: dir + "/rated.jsonl", atomically: true, encoding: .utf8)
        let (better, worse) = PreferenceGroup.comparisons(ratings: ratings, minGap: 1.5)
        #expect(better == [0, 0, 1, 3] && worse == [1, 2, 2, 2])   // a gap of exactly 1.5 counts
        let pairRows = zip(better, worse).map { "{\"prompt\": \"Colors:\", \"chosen\": \"\(texts[$0])\", \"rejected\": \"\(texts[$1])\"}" }
        try pairRows.joined(separator: "\n").write(toFile: dir + "/pairs.jsonl", atomically: true, encoding: .utf8)

        func run(_ file: String, rows: [Int]) throws -> (Float, Double, [String: [Float]]) {
            let config = try ConfigFile.load(RewardConfig.self, path: nil, overrides: [
                "model_path=\(rlhfFixture("tiny-llama-rm"))", "train_file=\(file)", "eval_fraction=0", "min_rating_gap=1.5",
                "output_dir=\(dir)/run"])
            let trainer = try RewardTrainer(config: config)
            let tape = Tape()
            let (loss, metrics, _) = try tape.record { try trainer.loss(try trainer.batch(rows)) }
            try tape.backward(loss)
            var grads: [String: [Float]] = [:]
            for (name, p) in trainer.parameters { grads[name] = p.grad?.scalars ?? [] }
            return (loss.value.item, metrics.first { $0.0 == "train/accuracy" }!.1, grads)
        }
        let (groupLoss, groupAcc, groupGrads) = try run(dir + "/rated.jsonl", rows: [0])
        let (pairLoss, pairAcc, pairGrads) = try run(dir + "/pairs.jsonl", rows: [0, 1, 2, 3])
        #expect(abs(groupLoss - pairLoss) <= 1e-6, "group loss \(groupLoss) vs pairs \(pairLoss)")
        #expect(groupAcc == pairAcc)
        #expect(groupGrads.count == pairGrads.count && !groupGrads.isEmpty)
        for (name, g) in groupGrads {
            let h = pairGrads[name]!
            let scale = max(h.map(abs).max() ?? 0, 1e-6)
            let worst = zip(g, h).map { abs($0 - $1) }.max() ?? 0
            #expect(g.count == h.count && worst <= 1e-4 * scale, "\(name): max |diff| \(worst) (scale \(scale))")
        }
    }

    @Test func ratedRowsWithoutAComparisonAreSkippedAndNamed() throws {
        let dir = runDir("rated-none")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "{\"prompt\": \"\", \"completions\": [\" a\", \" b\"], \"ratings\": [1, 1.5]}\n"
            .write(toFile: dir + "/rated.jsonl", atomically: true, encoding: .utf8)
        let config = try ConfigFile.load(RewardConfig.self, path: nil, overrides: [
            "model_path=\(rlhfFixture("tiny-llama-rm"))", "train_file=\(dir)/rated.jsonl", "eval_fraction=0", "min_rating_gap=2",
            "output_dir=\(dir)/run"])
        #expect(performing: { _ = try RewardTrainer(config: config) },
                throws: { "\($0)" == "rated.jsonl: no examples left (0 rows skipped because truncation emptied their responses, 1 rated rows without two ratings min_rating_gap apart)" })
        let bad = try ConfigFile.load(RewardConfig.self, path: nil, overrides: ["model_path=x", "train_file=y", "min_rating_gap=-1"])
        #expect(performing: { try bad.validate(file: "rm.json") }, throws: { "\($0)".contains("min_rating_gap") })
    }

    @Test func resumedRunEqualsUninterruptedRun() throws {
        let common = ["batch_size=1", "learning_rate=0.003", "max_steps=6", "save_steps=2", "logging_steps=1", "warmup_steps=2"]
        let straightDir = runDir("straight"), stoppedDir = runDir("stopped")
        let straight = try SFTTrainer(config: try sftConfig(common + ["output_dir=\(straightDir)"]))
        let full = try straight.train()
        // A crash after step 3: the last complete checkpoint is step 2.
        let first = try SFTTrainer(config: try sftConfig(common + ["output_dir=\(stoppedDir)"]))
        _ = try first.train(stopAfter: 3)
        let second = try SFTTrainer(config: try sftConfig(common + ["output_dir=\(stoppedDir)"]))
        let resumed = try second.train(resume: true)
        #expect(resumed.steps == 6)
        func losses(_ h: [MetricsRecord], from: Int) -> [Double] {
            h.filter { $0.step >= from }.map { r in r.scalars.first { $0.name == "train/loss" }!.value }
        }
        #expect(losses(full.history, from: 3).count == 4)
        #expect(losses(full.history, from: 3) == losses(resumed.history.filter { $0.step >= 3 }.suffix(4).map { $0 }, from: 3))
        for ((n, a), (_, b)) in zip(straight.model.namedParameters(), second.model.namedParameters()) {
            #expect(a.value.scalars == b.value.scalars, "\(n) differs after resuming")
        }
    }

    @Test func tinySFTRunLowersEvalLoss() throws {
        // One repeated pattern the model can memorise: eval loss must fall.
        let dir = runDir("sftlearn")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let rows = (0..<24).map { i in "{\"prompt\": \"Count:\", \"completion\": \" one two three \(i % 3 == 0 ? "four" : "five")\"}" }
        try rows.joined(separator: "\n").write(toFile: dir + "/data.jsonl", atomically: true, encoding: .utf8)
        let config = try ConfigFile.load(SFTConfig.self, path: nil, overrides: [
            "model_path=\(rlhfFixture("tiny-llama"))", "train_file=\(dir)/data.jsonl", "eval_fraction=0.25",
            "output_dir=\(dir)/run", "batch_size=6", "learning_rate=0.01", "max_steps=25", "eval_steps=25", "logging_steps=5"])
        let trainer = try SFTTrainer(config: config)
        let before = try trainer.evaluate().first { $0.0 == "eval/loss" }!.1
        let summary = try trainer.train()
        let after = summary.finalEval.first { $0.0 == "eval/loss" }!.1
        #expect(after < before * 0.5, "eval loss \(before) -> \(after)")
        #expect(FileManager.default.fileExists(atPath: dir + "/run/model.safetensors"))
        #expect(FileManager.default.fileExists(atPath: dir + "/run/tokenizer.json"))
    }

    @Test func tinyRewardRunLearnsALearnablePreference() throws {
        // Preferred answers say "yes", rejected ones "no": a cue the head can learn.
        let dir = runDir("rmlearn")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let words = ["apple", "river", "stone", "cloud", "green", "music", "paper", "light"]
        let rows = (0..<40).map { i -> String in
            let w = words[i % words.count], v = words[(i * 3 + 1) % words.count]
            return "{\"prompt\": \"\(w) \(v)?\", \"chosen\": \" yes \(v)\", \"rejected\": \" no \(v)\"}"
        }
        try rows.joined(separator: "\n").write(toFile: dir + "/prefs.jsonl", atomically: true, encoding: .utf8)
        let config = try ConfigFile.load(RewardConfig.self, path: nil, overrides: [
            "model_path=\(rlhfFixture("tiny-llama"))", "train_file=\(dir)/prefs.jsonl", "eval_fraction=0.25",
            "output_dir=\(dir)/run", "batch_size=4", "learning_rate=0.003", "max_steps=30", "logging_steps=10"])
        let trainer = try RewardTrainer(config: config)
        let summary = try trainer.train()
        let acc = summary.finalEval.first { $0.0 == "eval/accuracy" }!.1
        #expect(acc >= 0.9, "held-out pairwise accuracy \(acc)")
        let (reloaded, fresh) = try ModelDirectory.loadScalarHead(dir + "/run")
        #expect(!fresh && reloaded.score.weight.value.scalars == trainer.model.score.weight.value.scalars)
    }

    @Test func configErrorsNameTheKey() throws {
        #expect(performing: { _ = try sftConfig(["learning_rat=0.1"]) }, throws: { "\($0)".contains("unknown key \"learning_rat\"") && "\($0)".contains("learning_rate") })
        #expect(performing: { _ = try sftConfig(["batch_size=\"four\""]) }, throws: { "\($0)".contains("batch_size") })
        #expect(performing: { _ = try ConfigFile.load(SFTConfig.self, path: nil, overrides: []) }, throws: { "\($0)".contains("model_path") })
        let c = try sftConfig(["lr_scheduler_type=\"exponential\""])
        #expect(performing: { try c.validate(file: "sft.json") }, throws: { "\($0)".contains("lr_scheduler_type") })
    }
}
