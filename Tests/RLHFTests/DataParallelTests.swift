// Data parallelism end to end: `mpirun -np 2 rlhf sft|reward|dpo|rl` on the tiny fixtures equals a
// 1-process run of the same config (global batch sizes): every logged metric per step within
// 1e-5 relative and every final weight tensor within 1e-5 relative (L2). Uneven
// shards (3 rows over 2 ranks) and an empty one (a 1-row batch) are included; `rlhf rl` (GRPO,
// RLOO, PPO with its critic, REINFORCE++) also writes the same samples. Skips, saying why, when
// mpirun is absent. Leaves out --resume under mpirun (checked by hand, see docs/distributed.md).
import Foundation
import SafeTensors
import Testing

@Suite(.serialized) struct DataParallelTests {
    /// The `rlhf` tool, built next to this test binary.
    static let rlhf = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent("rlhf").path
    static let mpirun: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        .split(separator: ":").map { "\($0)/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Runs a command with a deadline (a hang must fail the test, not stall it): status and output.
    /// The same mechanism as DistributedTests' MPIProbeTests (test targets cannot share code).
    func run(_ executable: String, _ arguments: [String], timeout: Double = 120) throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let pid = p.processIdentifier
        // mpirun does not end ranks stuck in a collective on SIGTERM: kill the whole tree.
        let deadline = DispatchWorkItem { Self.killTree(pid) }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: deadline)
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        deadline.cancel()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// SIGKILL to `root` and every descendant (parents read from /proc/PID/stat).
    static func killTree(_ root: Int32) {
        var parent: [Int32: Int32] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(name), let stat = try? String(contentsOfFile: "/proc/\(name)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let ppid = Int32(fields[1]) { parent[pid] = ppid }
        }
        var tree: Set<Int32> = [root]
        var grew = true
        while grew {
            grew = false
            for (pid, ppid) in parent where tree.contains(ppid) && !tree.contains(pid) { tree.insert(pid); grew = true }
        }
        for pid in tree { kill(pid, SIGKILL) }
    }

    /// `rlhf <command>` once without MPI and once under `mpirun -np ranks`, into fresh folders.
    func oneAndN(_ command: String, _ settings: [String], ranks: Int = 2) throws -> (one: String, many: String)? {
        guard let mpirun = Self.mpirun else {
            print("DataParallelTests: skipped, no mpirun on PATH (apt-get install openmpi-bin libopenmpi-dev)")
            return nil
        }
        let base = runDir("dp-\(command)")
        let flags = settings.flatMap { ["--set", $0] }
        let single = try run(Self.rlhf, [command] + flags + ["--set", "output_dir=\(base)/one"])
        #expect(single.status == 0 && single.output.hasPrefix("ranks: 1\n"), "\(single.output)")
        var launch = ["-np", "\(ranks)", "--oversubscribe"]
        if geteuid() == 0 { launch.append("--allow-run-as-root") }
        let many = try run(mpirun, launch + [Self.rlhf, command] + flags + ["--set", "output_dir=\(base)/many"])
        #expect(many.status == 0 && many.output.hasPrefix("ranks: \(ranks)\n"), "\(many.output)")
        // Rank 0 alone logs: the trainer's own first line appears once.
        #expect(many.output.components(separatedBy: "\(command): ").count == single.output.components(separatedBy: "\(command): ").count,
                "\(many.output)")
        return ("\(base)/one", "\(base)/many")
    }

    /// Every metric of every step (but wall time and throughput) within 1e-5 relative (1e-7
    /// absolute below 0.01), and
    /// every tensor of the final model within 1e-5 relative in the L2 norm.
    func expectSameRun(_ one: String, _ many: String, _ what: String) throws {
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
                #expect(abs(x - y) <= 1e-5 * max(abs(x), abs(y), floor), "\(what): step \(ra["step"] ?? -1) \(k) \(x) vs \(y)")
            }
        }
        try expectSameWeights("\(one)/model.safetensors", "\(many)/model.safetensors", what)
        if FileManager.default.fileExists(atPath: "\(one)/critic/model.safetensors") {
            try expectSameWeights("\(one)/critic/model.safetensors", "\(many)/critic/model.safetensors", what + " critic")
        }
    }

    func expectSameWeights(_ one: String, _ many: String, _ what: String) throws {
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
        #expect(worst.diff <= 1e-5, "\(what): final weights differ by \(worst.diff) relative (L2) in \(worst.name), max |diff| \(worst.maxAbs)")
        print("DataParallelTests \(what): worst final-weight difference \(worst.diff) relative (L2) in \(worst.name), max |diff| \(worst.maxAbs)")
    }

    @Test func sftTwoRanksEqualOne() throws {
        // 3 rows a micro-batch: 2 + 1 over the ranks; two micro-batches a step.
        guard let (one, many) = try oneAndN("sft", [
            "model_path=\(rlhfFixture("tiny-llama"))", "train_file=\(rlhfFixture("sft.jsonl"))", "eval_fraction=0",
            "batch_size=3", "gradient_accumulation_steps=2", "learning_rate=0.01", "max_steps=3", "logging_steps=1"]) else { return }
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

    /// `rlhf rl` at 1 and 2 ranks: 2 prompts x 2 generations a rollout (one group per rank),
    /// minibatches of 2 rows drawn from the global rows (some wholly on one rank), sampled
    /// responses scored by the reward model, running reward normalisation, adaptive KL.
    func rlTwoRanksEqualOne(_ estimator: String, _ extra: [String]) throws {
        let prompts = ["one", "two", "three", "four"].map { "\"\($0)\"" }.joined(separator: ",")
        guard let (one, many) = try oneAndN("rl", [
            "sft_model_path=\(rlhfFixture("tiny-llama"))", "ref_model_path=\(rlhfFixture("tiny-llama-ref"))",
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

    /// RLOO: unscaled leave-one-out advantages, so the reward normalisation's scale shows.
    @Test func rlooTwoRanksEqualOne() throws { try rlTwoRanksEqualOne("rloo", []) }

    /// PPO with the critic (the reward model's trunk): GAE advantages whitened over both ranks,
    /// the value loss weighted by token share, the critic's gradients summed.
    @Test func ppoTwoRanksEqualOne() throws { try rlTwoRanksEqualOne("gae", ["lr_critic=0.003", "cliprange_value=0.2"]) }

    /// REINFORCE++: returns whitened over both ranks' tokens.
    @Test func reinforcePPTwoRanksEqualOne() throws { try rlTwoRanksEqualOne("reinforce_pp", []) }
}
