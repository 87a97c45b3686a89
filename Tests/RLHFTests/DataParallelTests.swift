// Data parallelism end to end: `mpirun -np 2 rlhf sft|reward|dpo|rl` on the tiny fixtures equals a
// 1-process run of the same config (global batch sizes): every logged metric per step within
// 1e-5 relative and every final weight tensor within 1e-5 relative (L2). Uneven
// shards (3 rows over 2 ranks) and an empty one (a 1-row batch) are included; `rlhf rl` (GRPO,
// RLOO, PPO with its critic, REINFORCE++) also writes the same samples. With dropout on, 2 ranks
// still equal 1 and a 2 x 2 accumulation split equals 1 x 4 (masks keyed by global row). A rank
// killed while rank 0 writes a checkpoint ends the job and leaves nothing half-written marked
// complete; `--resume` then continues it to the uninterrupted run (2 ranks, and 1). Skips, saying
// why, when mpirun is absent.
import Foundation
import MPITestSupport
import SafeTensors
import Testing

@Suite(.serialized) struct DataParallelTests {
    /// The `rlhf` tool, built next to this test binary.
    static let rlhf = MPILaunch.sibling("rlhf")

    /// Runs a command with a deadline (a hang must fail the test, not stall it): status and output.
    func run(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> (status: Int32, output: String) {
        let r = try runCommand(executable, arguments, timeout: timeout)
        return (r.status, r.output)
    }

    /// `mpirun -np ranks rlhf <command> --set ...` with a deadline.
    func mpiRLHF(_ ranks: Int, _ command: String, _ settings: [String], extra: [String] = [], exporting: [String: String] = [:],
                 whileRunning: (@Sendable (Int32) -> Void)? = nil) throws -> CommandRun {
        try runCommand(MPILaunch.mpirun!, MPILaunch.arguments(ranks: ranks, exporting: exporting.keys.sorted())
                       + [Self.rlhf, command] + settings.flatMap { ["--set", $0] } + extra,
                       timeout: 120, environment: exporting, whileRunning: whileRunning)
    }

    /// `rlhf <command>` once without MPI and once under `mpirun -np ranks`, into fresh folders.
    func oneAndN(_ command: String, _ settings: [String], ranks: Int = 2) throws -> (one: String, many: String)? {
        if MPILaunch.skip("DataParallelTests") { return nil }
        let base = runDir("dp-\(command)")
        let flags = settings.flatMap { ["--set", $0] }
        let single = try run(Self.rlhf, [command] + flags + ["--set", "output_dir=\(base)/one"])
        #expect(single.status == 0 && single.output.hasPrefix("ranks: 1\n"), "\(single.output)")
        let many = try mpiRLHF(ranks, command, settings + ["output_dir=\(base)/many"])
        #expect(many.status == 0 && many.output.hasPrefix("ranks: \(ranks)\n"), "\(many.output)")
        // Rank 0 alone logs: the trainer's own first line appears once.
        #expect(many.output.components(separatedBy: "\(command): ").count == single.output.components(separatedBy: "\(command): ").count,
                "\(many.output)")
        return ("\(base)/one", "\(base)/many")
    }

    /// Every metric of every step (but wall time and throughput) within 1e-5 relative (1e-7
    /// absolute below 0.01), and
    /// every tensor of the final model within 1e-5 relative in the L2 norm.
    func expectSameRun(_ one: String, _ many: String, _ what: String, tolerance: Double = 1e-5) throws {
        func records(_ dir: String) throws -> [[String: Double]] {
            try String(contentsOfFile: "\(dir)/metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
                let obj = try JSONSerialization.jsonObject(with: Foundation.Data($0.utf8)) as! [String: Any]
                return obj.compactMapValues { ($0 as? NSNumber)?.doubleValue }.filter { k, _ in
                    !k.hasPrefix("wall_time") && !k.hasPrefix("time/") && !k.hasSuffix("_per_s")
                }
            }
        }
        let (a, b) = (try records(one), try records(many))
        #expect(a.count == b.count && !a.isEmpty, "\(what): \(a.count) vs \(b.count) metric records")
        for (ra, rb) in zip(a, b) {
            #expect(Set(ra.keys) == Set(rb.keys), "\(what): metric names \(ra.keys.sorted()) vs \(rb.keys.sorted())")
            for (k, x) in ra.sorted(by: { $0.key < $1.key }) {
                let y = rb[k] ?? .nan
                // Relative, with an absolute floor of 1e-7 for means that cancel to near 0; 1e-6 for the
                // KL-shaped means, differences of log-probs (~ -5 each, so ~1e-6 of rounding apart:
                // each rank scores its rows in its own padded layout) that cancel to ~0.01.
                let floor = k.hasSuffix("kl_mean") || k.hasSuffix("reward_total_mean") ? 0.1 : 0.01
                #expect(abs(x - y) <= tolerance * max(abs(x), abs(y), floor), "\(what): step \(ra["step"] ?? -1) \(k) \(x) vs \(y)")
            }
        }
        // A LoRA run's final model is its adapter folder.
        let weights = FileManager.default.fileExists(atPath: "\(one)/adapter_model.safetensors") ? "adapter_model" : "model"
        try expectSameWeights("\(one)/\(weights).safetensors", "\(many)/\(weights).safetensors", what, tolerance: tolerance)
        if FileManager.default.fileExists(atPath: "\(one)/critic/model.safetensors") {
            try expectSameWeights("\(one)/critic/model.safetensors", "\(many)/critic/model.safetensors", what + " critic")
        }
    }

    func expectSameWeights(_ one: String, _ many: String, _ what: String, tolerance: Double = 1e-5) throws {
        let (wa, wb) = (try SafeTensorsFile(path: one), try SafeTensorsFile(path: many))
        #expect(wa.names.sorted() == wb.names.sorted(), "\(what): tensor names")
        // Relative in the L2 norm per tensor: AdamW divides by sqrt(v), so an element whose gradient
        // is rounding noise around 0 moves by noise-sized steps of either sign; a norm is the scale
        // a parameter tensor is read at.
        var worst = (name: "", diff: 0.0, maxAbs: Float(0))
        for name in wa.names.sorted() where wb.contains(name) {
            let (x, y) = (try wa.tensor(named: name).scalars, try wb.tensor(named: name).scalars)
            let d2 = zip(x, y).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            let n2 = x.reduce(0.0) { $0 + Double($1) * Double($1) }
            let rel = (d2 / max(n2, 1e-30)).squareRoot()
            if rel > worst.diff { worst = (name, rel, zip(x, y).map { abs($0 - $1) }.max() ?? 0) }
        }
        #expect(worst.diff <= tolerance, "\(what): final weights differ by \(worst.diff) relative (L2) in \(worst.name), max |diff| \(worst.maxAbs)")
        print("DataParallelTests \(what): worst final-weight difference \(worst.diff) relative (L2) in \(worst.name), max |diff| \(worst.maxAbs)")
    }

    @Test func sftTwoRanksEqualOne() throws {
        // 3 rows a micro-batch: 2 + 1 over the ranks; two micro-batches a step.
        guard let (one, many) = try oneAndN("sft", Self.sftSettings(["gradient_accumulation_steps=2", "max_steps=3"])) else { return }
        try expectSameRun(one, many, "sft")
    }

    @Test func rewardModelTwoRanksEqualOne() throws {
        guard let (one, many) = try oneAndN("reward", [
            "model_path=\(rlhfFixture("tiny-llama-rm"))", "train_file=\(rlhfFixture("prefs.jsonl"))", "eval_fraction=0",
            "batch_size=2", "learning_rate=0.003", "max_steps=3", "logging_steps=1", "center_rewards_coefficient=0.01"]) else { return }
        try expectSameRun(one, many, "reward")
    }

    @Test func dpoTwoRanksEqualOne() throws {
        // 4 groups in batches of 3: the second batch of each epoch has 1 row, so rank 1 has none.
        guard let (one, many) = try oneAndN("dpo", [
            "model_path=\(rlhfFixture("tiny-llama"))", "ref_model_path=\(rlhfFixture("tiny-llama-ref"))",
            "train_file=\(rlhfFixture("dpo_prefs.jsonl"))", "eval_fraction=0", "batch_size=3", "learning_rate=0.01",
            "max_steps=4", "logging_steps=1", "beta=0.1"]) else { return }
        try expectSameRun(one, many, "dpo")
    }

    static func sftSettings(_ extra: [String] = []) -> [String] {
        ["model_path=\(rlhfFixture("tiny-llama"))", "train_file=\(rlhfFixture("sft.jsonl"))", "eval_fraction=0",
         "batch_size=3", "learning_rate=0.01", "logging_steps=1"] + extra
    }

    /// Dropout 0.1 (tiny-llama: embedding dropout): every row's masks come from (seed, step, global
    /// row), so the rank holding the row does not matter. Before row-keyed masks this failed (masks
    /// drawn over each rank's own batch).
    @Test func sftWithDropoutTwoRanksEqualOne() throws {
        guard let (one, many) = try oneAndN("sft", Self.sftSettings(["gradient_accumulation_steps=2", "max_steps=3", "dropout=0.1"]))
        else { return }
        try expectSameRun(one, many, "sft dropout")
    }

    @Test func rewardModelWithDropoutTwoRanksEqualOne() throws {
        guard let (one, many) = try oneAndN("reward", [
            "model_path=\(rlhfFixture("tiny-llama-rm"))", "train_file=\(rlhfFixture("prefs.jsonl"))", "eval_fraction=0",
            "batch_size=2", "learning_rate=0.003", "max_steps=3", "logging_steps=1", "dropout=0.1"]) else { return }
        try expectSameRun(one, many, "reward dropout")
    }

    /// One process, no MPI: DPO on four pairs as one micro-batch of 4 and as 2 x 2 accumulated,
    /// dropout 0.1. Both are means over 4 comparisons, so only the dropout masks could differ; the
    /// chosen and rejected rows of a pair are sub-rows 0 and 1 of its global row.
    @Test func accumulationSplitDrawsTheSameDropout() throws {
        let base = runDir("dp-accum")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let pairs = try String(contentsOfFile: rlhfFixture("dpo_prefs.jsonl"), encoding: .utf8).split(separator: "\n").prefix(3)
            .joined(separator: "\n") + "\n{\"prompt\": \"Greet me:\", \"chosen\": \" Hello, friend!\", \"rejected\": \" No.\"}\n"
        try pairs.write(toFile: "\(base)/pairs.jsonl", atomically: true, encoding: .utf8)
        let settings = ["model_path=\(rlhfFixture("tiny-llama"))", "ref_model_path=\(rlhfFixture("tiny-llama-ref"))",
                        "train_file=\(base)/pairs.jsonl", "eval_fraction=0", "learning_rate=0.01", "max_steps=3", "logging_steps=1",
                        "beta=0.1", "dropout=0.1"].flatMap { ["--set", $0] }
        let whole = try run(Self.rlhf, ["dpo"] + settings + ["--set", "batch_size=4", "--set", "output_dir=\(base)/1x4"])
        let split = try run(Self.rlhf, ["dpo"] + settings + ["--set", "batch_size=2", "--set", "gradient_accumulation_steps=2",
                                                             "--set", "output_dir=\(base)/2x2"])
        #expect(whole.status == 0 && split.status == 0, "\(whole.output)\n---\n\(split.output)")
        try expectSameRun("\(base)/1x4", "\(base)/2x2", "dpo 1x4 vs 2x2 dropout")
    }

    /// 2-rank SFT with dropout, save_steps 2 of 6. Rank 0 is held (RunKit's TestHook) while it writes
    /// checkpoint-4 and rank 1 is SIGKILLed: the job must end non-zero within 30 s of the kill naming the dead
    /// rank, leave checkpoint-2 complete and no final model nor complete checkpoint-4. `--resume` on
    /// 2 ranks then gives the uninterrupted 2-rank run (1e-6), and on 1 rank the same within 1e-5.
    @Test func killedRankThenResumeEqualsTheUninterruptedRun() throws {
        if MPILaunch.skip("DataParallelTests") { return }
        let base = runDir("dp-kill")
        let settings = Self.sftSettings(["max_steps=6", "save_steps=2", "dropout=0.1"])
        let whole = try mpiRLHF(2, "sft", settings + ["output_dir=\(base)/whole"])
        #expect(whole.status == 0, "\(whole.output)")

        let out = "\(base)/killed"
        let killed = KillTime()
        let job = try mpiRLHF(2, "sft", settings + ["output_dir=\(out)"], exporting: ["RLHF_TEST_PAUSE_AT": "checkpoint-write:4"]) { mpirun in
            // Wait for rank 0 to be inside checkpoint-4's write (its temp folder exists), then kill rank 1.
            let deadline = Date().addingTimeInterval(90)
            while Date() < deadline {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
                if names.contains(where: { $0.hasPrefix(".tmp-checkpoint-4-") }), let pid = rankPid(1, under: mpirun) {
                    Thread.sleep(forTimeInterval: 1)   // let rank 0 reach the pause (a tiny model: milliseconds)
                    kill(pid, SIGKILL)
                    killed.set()
                    return
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        let end = Date()
        #expect(killed.value != nil, "rank 0 never reached checkpoint-4: \(job.output)")
        // Rank 0 sleeps in the hook for 10 minutes: only mpirun ending the job can stop it in time.
        let afterKill = end.timeIntervalSince(killed.value ?? end)
        #expect(job.status != 0 && !job.timedOut && afterKill < 30, "status \(job.status), \(afterKill) s after the kill: \(job.output)")
        print("DataParallelTests killed rank: the job ended \(afterKill) s after the kill, status \(job.status)")
        #expect(job.output.contains("exited on signal 9"), "mpirun should name the killed rank: \(job.output)")
        let fm = FileManager.default
        #expect(!fm.fileExists(atPath: "\(out)/model.safetensors"), "a killed job must not publish a final model")
        #expect(fm.fileExists(atPath: "\(out)/checkpoint-2/complete"), "checkpoint-2 was written before the kill")
        #expect(!fm.fileExists(atPath: "\(out)/checkpoint-4/complete"), "checkpoint-4 was being written when the job died")
        for name in (try fm.contentsOfDirectory(atPath: out)) where name.hasPrefix(".tmp-checkpoint-") {
            #expect(!fm.fileExists(atPath: "\(out)/\(name)/complete"), "\(name) is marked complete")
        }

        // Resume: on 2 ranks (the same N) and, from a copy, on 1.
        try fm.copyItem(atPath: out, toPath: "\(base)/killed-one")
        let resumed = try mpiRLHF(2, "sft", settings + ["output_dir=\(out)"], extra: ["--resume"])
        #expect(resumed.status == 0, "\(resumed.output)")
        try expectSameRun("\(base)/whole", out, "sft resumed on 2 ranks", tolerance: 1e-6)
        let one = try run(Self.rlhf, ["sft"] + (settings + ["output_dir=\(base)/killed-one"]).flatMap { ["--set", $0] } + ["--resume"])
        #expect(one.status == 0, "\(one.output)")
        try expectSameRun("\(base)/whole", "\(base)/killed-one", "sft from 2 ranks resumed on 1")
    }

    /// When the test killed the rank (set once, read after the job ended).
    final class KillTime: @unchecked Sendable {
        private let lock = NSLock()
        private var at: Date?
        func set() { lock.lock(); at = Date(); lock.unlock() }
        var value: Date? { lock.lock(); defer { lock.unlock() }; return at }
    }

    /// `rlhf rl` at 1 and 2 ranks: 2 prompts x 2 generations a rollout (one group per rank),
    /// minibatches of 2 rows drawn from the global rows (some wholly on one rank), sampled
    /// responses scored by the reward model, running reward normalisation, adaptive KL.
    func rlTwoRanksEqualOne(_ estimator: String, _ extra: [String], separateReference: Bool = true) throws {
        let prompts = ["one", "two", "three", "four"].map { "\"\($0)\"" }.joined(separator: ",")
        let reference = separateReference ? ["ref_model_path=\(rlhfFixture("tiny-llama-ref"))"] : []
        guard let (one, many) = try oneAndN("rl", ["sft_model_path=\(rlhfFixture("tiny-llama"))"] + reference + [
            "reward_model_path=\(rlhfFixture("tiny-llama-rm"))", "prompt_data=[\(prompts)]", "rollout_batch_size=2",
            "num_generations=2", "mini_batch_size=2", "total_episodes=6", "max_gen_len=4", "ppo_epochs=2", "lr_actor=0.003",
            "advantage_estimator=\(estimator)", "kl_coef=0.05", "adaptive_kl={\"target\": 1, \"horizon\": 100}",
            "normalize_reward=true", "logging_steps=1", "seed=7"] + extra) else { return }
        try expectSameRun(one, many, estimator)
        // The same rows in the same order with the same responses; scores within 1e-5 relative
        // (the reward model sees the rank's own padding, so the last bits may differ).
        func samples(_ dir: String) throws -> [[String: Any]] {
            try String(contentsOfFile: "\(dir)/samples.jsonl", encoding: .utf8).split(separator: "\n").map {
                try JSONSerialization.jsonObject(with: Foundation.Data($0.utf8)) as! [String: Any]
            }
        }
        let (a, b) = (try samples(one), try samples(many))
        #expect(a.count == b.count && !a.isEmpty, "\(estimator): \(a.count) vs \(b.count) samples")
        for (x, y) in zip(a, b) {
            #expect(x["prompt"] as? String == y["prompt"] as? String && x["response"] as? String == y["response"] as? String
                    && x["iteration"] as? Int == y["iteration"] as? Int, "\(estimator): sample \(x) vs \(y)")
            let (u, v) = ((x["score"] as? Double) ?? .nan, (y["score"] as? Double) ?? .nan)
            #expect(abs(u - v) <= 1e-5 * max(abs(u), abs(v), 0.01), "\(estimator): score \(u) vs \(v)")
        }
    }

    /// GRPO with the batch-wide std (a statistic over both ranks' groups) and KL in the loss.
    @Test func grpoTwoRanksEqualOne() throws { try rlTwoRanksEqualOne("grpo", ["scale_rewards=batch", "beta=0.04"]) }

    /// GRPO with LoRA on the actor (dropout 0.1 on the adapters' inputs, masks keyed by global row)
    /// and the adapter-off reference; the final adapters compared.
    @Test func grpoWithLoRADropoutTwoRanksEqualOne() throws {
        try rlTwoRanksEqualOne("grpo", ["scale_rewards=batch", "beta=0.04",
                                        #"peft={"r": 4, "lora_alpha": 8, "lora_dropout": 0.1, "target_modules": ["q_proj", "v_proj", "down_proj"]}"#],
                               separateReference: false)
    }

    /// RLOO: unscaled leave-one-out advantages, so the reward normalisation's scale shows.
    @Test func rlooTwoRanksEqualOne() throws { try rlTwoRanksEqualOne("rloo", []) }

    /// PPO with the critic (the reward model's trunk): GAE advantages whitened over both ranks,
    /// the value loss weighted by token share, the critic's gradients summed.
    @Test func ppoTwoRanksEqualOne() throws { try rlTwoRanksEqualOne("gae", ["lr_critic=0.003", "cliprange_value=0.2"]) }

    /// REINFORCE++: returns whitened over both ranks' tokens.
    @Test func reinforcePPTwoRanksEqualOne() throws { try rlTwoRanksEqualOne("reinforce_pp", []) }
}
