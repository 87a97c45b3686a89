// `rlhf-bench lora`: one SFT-style step (forward loss, backward, AdamW) and one GRPO iteration of
// the RL engine (PPOTrainer.step(): rollout, scoring, update) on the SmolLM2-135M shape (random
// init, Llama architecture, 30 layers, hidden 576), full fine-tuning next to LoRA (r 16, alpha
// 32, all seven projections; base frozen; in GRPO the reference is then the actor with its
// adapters off, where full fine-tuning holds a second copy). Each variant runs in a process of
// its own (this binary with --variant), so its peak RSS (VmHWM from /proc/self/status) is its
// own; the parent prints both side by side with their ratios. Peak RSS includes the freed
// buffers TensorCore's BufferCache keeps for reuse (up to RLHF_BUFFER_CACHE_MB, printed): run
// with RLHF_BUFFER_CACHE_MB=0 to see live memory alone. Leaves out grad clipping and data
// loading (the same for both), and the trainers' bookkeeping.
import ArgumentParser
import Data
import Foundation
import Models
import NN
import RLHF
import TensorCore

struct LoRABench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lora",
        abstract: "Full fine-tune vs LoRA (r 16, all projections): step seconds and peak memory on the SmolLM2-135M shape.")

    enum Variant: String, ExpressibleByArgument, CaseIterable { case full, lora }
    enum Workload: String, ExpressibleByArgument, CaseIterable { case sft, grpo }
    enum Shape: String, ExpressibleByArgument { case smollm2, small }

    @Option(help: "Timed steps (median printed) after one warm-up step.") var runs = 3
    @Option(help: "Batch size.") var batch = 4
    @Option(help: "Sequence length.") var time = 256
    @Option(help: "LoRA rank.") var rank = 16
    @Option(help: "smollm2 (SmolLM2-135M shape) or small (a tiny Llama config for a smoke run).") var model = Shape.smollm2
    @Option(help: "Run one variant in this process (the parent starts one child per variant).") var variant: Variant?
    @Option(help: "What to time: sft (one forward+backward+AdamW step), grpo (one RL engine iteration), or both (repeatable).")
    var workload: [Workload] = Workload.allCases
    @Option(help: "GRPO: prompts per rollout (each answered --generations times).") var prompts = 2
    @Option(help: "GRPO: responses per prompt.") var generations = 4
    @Option(help: "GRPO: new tokens per response.") var newTokens = 32
    @Option(help: "fp32 or bf16 (the matrix products of every forward and backward, frozen base included; figures get a _bf16 suffix).")
    var precision: Precision = .fp32

    func run() throws {
        if let variant { return try workload.first == .grpo ? measureGRPO(variant) : measure(variant) }
        // The parent: one child process per workload and variant, so each peak RSS is measured alone.
        let name = (model == .small ? "lora_small" : "lora_smollm2_135m") + (precision == .bf16 ? "_bf16" : "")
        printFact("\(name)_precision", "\(precision) (bf16 kernel: \(Gemm.bf16Kernel.rawValue))")
        if let note = precision.fallbackNote() { printFact("\(name)_precision_note", note) }
        printFact("\(name)_lora", "r \(rank) alpha \(2 * rank) on q,k,v,o,gate,up,down, \(ThreadPool.shared.threadCount) threads")
        printFact("\(name)_buffer_cache_limit", ProcessInfo.processInfo.environment["RLHF_BUFFER_CACHE_MB"].map { "\($0) MiB" }
                  ?? "4096 MiB (default; RLHF_BUFFER_CACHE_MB)")
        for w in workload {
            var figures: [Variant: [String: Double]] = [:]
            for v in Variant.allCases { figures[v] = try child(w, v) }
            let full = figures[.full]!, lora = figures[.lora]!
            let rows: [(String, String, String)]
            switch w {
            case .sft:
                printFact("\(name)_sft_shape", "batch \(batch) x \(time) tokens")
                rows = [("trainable_params", "M", "trainable_params"), ("step_seconds", "s", "step_b\(batch)_t\(time)_seconds"),
                        ("forward_seconds", "s", "forward_seconds"), ("backward_seconds", "s", "backward_seconds"),
                        ("adamw_seconds", "s", "adamw_seconds"), ("grad_mib", "MiB", "grad_buffers"),
                        ("adam_state_mib", "MiB", "adamw_state"), ("rss_after_init_mib", "MiB", "rss_after_init"),
                        ("peak_rss_mib", "MiB", "peak_rss_vmhwm")]
            case .grpo:
                printFact("\(name)_grpo_shape", "\(prompts) prompts x \(generations) generations, \(newTokens) new tokens, "
                          + "one optimizer step per rollout, beta 0.04; full: reference is a second copy, LoRA: the actor with adapters off")
                rows = [("trainable_params", "M", "grpo_trainable_params"), ("iteration_seconds", "s", "grpo_iteration_seconds"),
                        ("rollout_seconds", "s", "grpo_rollout_seconds"), ("scoring_seconds", "s", "grpo_scoring_seconds"),
                        ("update_seconds", "s", "grpo_update_seconds"), ("rss_after_init_mib", "MiB", "grpo_rss_after_init"),
                        ("peak_rss_mib", "MiB", "grpo_peak_rss_vmhwm")]
            }
            for (key, unit, label) in rows {
                printFigure("\(name)_full_\(label)", full[key] ?? .nan, unit)
                printFigure("\(name)_lora_\(label)", lora[key] ?? .nan, unit)
            }
            let time = w == .sft ? "step_seconds" : "iteration_seconds", tag = w == .sft ? "" : "grpo_"
            printFigure("\(name)_\(tag)\(w == .sft ? "step" : "iteration")_time_lora_vs_full", (lora[time] ?? .nan) / (full[time] ?? .nan), "x")
            printFigure("\(name)_\(tag)peak_rss_lora_vs_full", (lora["peak_rss_mib"] ?? .nan) / (full["peak_rss_mib"] ?? .nan), "x")
        }
    }

    /// Runs one workload and variant in a child process and reads its `key value` lines.
    func child(_ w: Workload, _ v: Variant) throws -> [String: Double] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        p.arguments = ["lora", "--variant", v.rawValue, "--workload", w.rawValue, "--runs", "\(runs)", "--batch", "\(batch)",
                       "--time", "\(time)", "--rank", "\(rank)", "--model", model.rawValue, "--prompts", "\(prompts)",
                       "--generations", "\(generations)", "--new-tokens", "\(newTokens)",
                       "--precision", precision.rawValue]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("the \(w.rawValue)/\(v.rawValue) child exited with \(p.terminationStatus)") }
        var f: [String: Double] = [:]
        for line in String(decoding: out, as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let x = Double(parts[1]) { f[String(parts[0])] = x }
        }
        return f
    }

    /// One variant: prints `key value` lines for the parent.
    var modelConfig: TransformerConfig {
        model == .small ? .llama(vocabSize: 512, hiddenSize: 64, layers: 2, heads: 4, kvHeads: 2, intermediateSize: 128) : .llama()
    }

    var peft: PeftConfig { PeftConfig(r: rank, loraAlpha: Float(2 * rank), targetModules: PeftConfig.knownTargets(.llama)) }

    func measure(_ variant: Variant) throws {
        let config = modelConfig
        var initializer = WeightInit.random(seed: 1)
        let lm = CausalLM(config: config, initializer: &initializer)
        var trainable = lm.parameters()
        if variant == .lora {
            trainable = try LoRAAdapters(attachingTo: lm, config: peft, seed: 2).parameters()
        }
        let optimizer = AdamW(parameters: trainable, config: AdamWConfig(lr: 1e-4, weightDecay: 0))
        var rng = Philox(seed: 3)
        let ids = (0..<(batch * time)).map { _ in Int32(rng.nextUInt32() % UInt32(config.vocabSize)) }
        let input = try TokenBatch(ids: ids, batch: batch, time: time)
        let rssInit = Self.procStatusMiB("VmRSS")

        // 1. forward (loss)  2. backward  3. AdamW; the first step warms up.
        var fwd: [Double] = [], bwd: [Double] = [], adam: [Double] = [], total: [Double] = []
        for i in 0..<(runs + 1) {
            for p in trainable { p.zeroGrad() }
            let tape = Tape()
            let t0 = now()
            let loss = try precision.run { try tape.record { try lm.loss(input, labels: ids) } }
            let t1 = now()
            try tape.backward(loss)
            let t2 = now()
            optimizer.step()
            let t3 = now()
            if i > 0 { fwd.append(t1 - t0); bwd.append(t2 - t1); adam.append(t3 - t2); total.append(t3 - t0) }
        }
        // What the step keeps per parameter: gradients (all params that got one) and AdamW's m and v.
        let everything = lm.parameters() + (variant == .lora ? trainable : [])
        let gradBytes = everything.reduce(0) { $0 + ($1.grad?.count ?? 0) } * 4
        let stateBytes = (optimizer.m + optimizer.v).reduce(0) { $0 + ($1?.count ?? 0) } * 4
        let lines: [(String, Double)] = [
            ("trainable_params", Double(trainable.reduce(0) { $0 + $1.count }) / 1e6),
            ("step_seconds", median(total)), ("forward_seconds", median(fwd)), ("backward_seconds", median(bwd)), ("adamw_seconds", median(adam)),
            ("grad_mib", Double(gradBytes) / 1_048_576), ("adam_state_mib", Double(stateBytes) / 1_048_576),
            ("rss_after_init_mib", rssInit), ("peak_rss_mib", Self.procStatusMiB("VmHWM")),
        ]
        for (k, v) in lines { print("\(k) \(v)") }
    }

    /// One GRPO variant: the engine's real iteration (as `rlhf-bench grpo` runs it) on this shape.
    func measureGRPO(_ variant: Variant) throws {
        let config = modelConfig
        let tokenizer = try GRPOBench.syntheticTokenizer(vocabSize: config.vocabSize)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-bench-lora-grpo-\(getpid())")
        defer { try? FileManager.default.removeItem(at: out) }
        var ppo = GRPOBench.config(prompts: prompts, generations: generations, newTokens: newTokens, iterations: runs, beta: 0.04,
                                   lr: 1e-5, outputDir: out.path)
        ppo.precision = precision
        var a = WeightInit.random(seed: 1)
        let actor = CausalLM(config: config, initializer: &a)
        let reference: CausalLM, adapters: LoRAAdapters?
        if variant == .lora {
            adapters = try LoRAAdapters(attachingTo: actor, config: peft, seed: 2)
            reference = actor
        } else {
            var r = WeightInit.random(seed: 1)
            reference = CausalLM(config: config, initializer: &r)
            adapters = nil
        }
        let texts = GRPOBench.prompts + (0..<max(0, prompts - GRPOBench.prompts.count)).map { "Prompt number \($0) says" }
        let parts = EngineParts(
            actor: actor, reference: reference, critic: nil, reward: LettersReward(), tokenizer: tokenizer, tokenizerDirectory: nil,
            prompts: texts.prefix(prompts).enumerated().map { PromptExample(ids: tokenizer.encode($1).map(Int32.init),
                                                                            source: SourceLine(file: "bench", line: $0 + 1)) },
            eosIds: [Int32(config.vocabSize - 1)], padId: Int32(config.vocabSize - 1), adapters: adapters)
        let trainer = try PPOTrainer(config: ppo, parts: parts)
        let rssInit = Self.procStatusMiB("VmRSS")
        let t = try GRPOBench.medianStep(trainer, iterations: runs)
        let trainable = (adapters.map { $0.parameters() } ?? actor.parameters()).reduce(0) { $0 + $1.count }
        let lines: [(String, Double)] = [
            ("trainable_params", Double(trainable) / 1e6), ("iteration_seconds", t.total),
            ("rollout_seconds", t.parts["time/rollout_s"] ?? .nan), ("scoring_seconds", t.parts["time/scoring_s"] ?? .nan),
            ("update_seconds", t.parts["time/update_s"] ?? .nan),
            ("rss_after_init_mib", rssInit), ("peak_rss_mib", Self.procStatusMiB("VmHWM")),
        ]
        for (k, v) in lines { print("\(k) \(v)") }
    }

    /// A `kB` field of /proc/self/status in MiB (NaN where the file is missing, e.g. macOS).
    static func procStatusMiB(_ field: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return .nan }
        for line in text.split(separator: "\n") where line.hasPrefix(field + ":") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? .nan
            return kb / 1024
        }
        return .nan
    }
}
