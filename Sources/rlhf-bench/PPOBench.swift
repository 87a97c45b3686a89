// `rlhf-bench ppo`: one iteration of the PPO loop of docs/algorithms.md §5, timed step by step —
// four GPT-2-124M-shaped models with random weights (actor, frozen reference = the actor's
// weights, critic and reward model = scalar heads on their own trunks), rollout 8 prompts
// of 16 tokens x 64 sampled tokens (EOS disabled), 4 PPO epochs, minibatch 2. With
// `--compare-pytorch PYTHON` the same loop in PyTorch (Reference/article_ppo_loop.py, fp32 and
// autocast bf16) runs right after, on the same shapes and threads, and ratios are printed.
// It re-runs PPOTrainer.step()'s recipe from its public pieces (Generator, ActionScoring,
// RLMath, AdamW) with PPOConfig's defaults, without loading models from disk.
// Leaves out: text decoding, metrics/sample files, checkpoints.
// Update FLOPs count what runs: actor and critic trunks over every minibatch token, the
// actor's LM head over action positions only (ActionScoring slices before the head),
// x 3 for forward + backward.
import ArgumentParser
import Foundation
import Generation
import Models
import NN
import RLHF
import RLMath
import TensorCore

struct PPOBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ppo",
        abstract: "One PPO iteration (rollout, scoring, update) with four GPT-2-124M-shaped models, optionally next to PyTorch.")

    @Option(help: "Timed iterations (after a short warm-up: 4 new tokens, one minibatch step).") var iterations = 1
    @Option(help: "gpt2 (124M) or small (a tiny config for a quick smoke run).") var model = "gpt2"
    @Option(help: "Prompts per rollout.") var rollout = 8
    @Option(help: "Prompt length in tokens.") var promptLength = 16
    @Option(help: "New tokens per response (EOS disabled: every row runs this long).") var newTokens = 64
    @Option(help: "PPO epochs over the rollout.") var epochs = 4
    @Option(help: "Minibatch size (rows).") var miniBatch = 2
    @Option(help: "fp32 or bf16 (all four models' matrix products; figures get a _bf16 suffix).")
    var precision: Precision = .fp32
    @Option(name: .customLong("compare-pytorch"),
            help: "A Python with torch + transformers: runs Reference/article_ppo_loop.py (fp32, then autocast bf16) after ours.")
    var comparePytorch: String?
    @Option(help: "The PyTorch loop script (for --compare-pytorch), relative to the current directory.")
    var pytorchScript = "Reference/article_ppo_loop.py"

    /// PPOConfig's defaults (the source article's values).
    static let lrActor: Float = 1e-5, lrCritic: Float = 5e-5, klCoef: Float = 0.05, clipRatio: Float = 0.2
    static let vfCoef: Float = 0.1, gamma: Float = 1, lambda: Float = 0.95, maxGradNorm: Float = 1

    struct Models {
        let config: TransformerConfig
        let actor: CausalLM, reference: CausalLM, critic: ScalarHeadModel, reward: ScalarHeadModel
        let actorOpt: AdamW, criticOpt: AdamW
    }

    struct Timing {
        var rollout = 0.0, scoring = 0.0, update = 0.0
        var forward = 0.0, backward = 0.0, clip = 0.0, adamw = 0.0
        var updateFLOPs = 0.0, rolloutTokens = 0
        var total: Double { rollout + scoring + update }
    }

    func run() throws {
        let config: TransformerConfig = model == "small" ? .gpt2(vocabSize: 512, hiddenSize: 128, layers: 2, heads: 4) : .gpt2()
        let name = (model == "small" ? "ppo_small" : "ppo_gpt2_124m") + (precision == .bf16 ? "_bf16" : "")
        printFact("precision", "\(precision) (bf16 kernel: \(Gemm.bf16Kernel.rawValue))")
        if let note = precision.fallbackNote() { printFact("precision_note", note) }
        let peak = ModelsBench.gemmPeak()
        printFigure("gemm_peak_M1024_K768_N3072_\(ThreadPool.shared.threadCount)t", peak / 1e9, "GFLOP/s")

        let t0 = now()
        let m = Self.makeModels(config)
        printFigure("\(name)_setup_seconds", now() - t0, "s")

        _ = try precision.run { try iterate(m, index: 0, newTokens: min(4, newTokens), epochs: 1, minibatchLimit: 1) }  // warm-up
        var runsT: [Timing] = []
        for i in 0..<max(1, iterations) {
            runsT.append(try precision.run { try iterate(m, index: i + 1, newTokens: newTokens, epochs: epochs, minibatchLimit: .max) })
        }
        // The median iteration by total time, so the split adds up.
        let t = runsT.sorted { $0.total < $1.total }[runsT.count / 2]
        let shape = "r\(rollout)_p\(promptLength)_n\(newTokens)_e\(epochs)_mb\(miniBatch)"
        printFact("\(name)_shape", shape)
        printFigure("\(name)_iteration_seconds", t.total, "s")
        printFigure("\(name)_rollout_seconds", t.rollout, "s")
        printFigure("\(name)_scoring_seconds", t.scoring, "s")
        printFigure("\(name)_update_seconds", t.update, "s")
        printFigure("\(name)_update_forward_seconds", t.forward, "s")
        printFigure("\(name)_update_backward_seconds", t.backward, "s")
        printFigure("\(name)_update_clip_seconds", t.clip, "s")
        printFigure("\(name)_update_adamw_seconds", t.adamw, "s")
        printFigure("\(name)_rollout_tokens_per_s", Double(t.rolloutTokens) / t.rollout, "tokens/s")
        printFigure("\(name)_update_gflops", t.updateFLOPs / t.update / 1e9, "GFLOP/s")
        printFigure("\(name)_update_fwd_bwd_gflops", t.updateFLOPs / (t.forward + t.backward) / 1e9, "GFLOP/s")
        printFigure("\(name)_update_mfu_vs_gemm_peak", t.updateFLOPs / t.update / peak, "")
        if let python = comparePytorch {
            try comparePyTorch(python: python, name: name, ours: t)
        }
    }

    /// Runs the PyTorch loop on the same shapes and thread count, fp32 then autocast bf16, and
    /// prints its phases and our time over its time (below 1: we are faster).
    func comparePyTorch(python: String, name: String, ours t: Timing) throws {
        guard FileManager.default.fileExists(atPath: pytorchScript) else {
            throw ValidationError("--pytorch-script: \(pytorchScript) not found (run from the repository root or pass its path)")
        }
        let threads = ThreadPool.shared.threadCount
        for (label, extra) in [("fp32", [String]()), ("autocast_bf16", ["--autocast-bf16"])] {
            let arguments = [pytorchScript, "--threads", "\(threads)", "--iterations", "\(max(1, iterations))",
                             "--model", model, "--rollout", "\(rollout)", "--prompt-length", "\(promptLength)",
                             "--new-tokens", "\(newTokens)", "--epochs", "\(epochs)", "--mini-batch", "\(miniBatch)"] + extra
            let r = try PyTorchTiming.run(python: python, arguments: arguments)
            printFact("pytorch_\(label)", "\(pytorchScript), torch \(r.torch), \(threads) threads, same shapes, this run")
            let pairs: [(String, Double, Double)] = [
                ("iteration", t.total, r.total), ("rollout", t.rollout, r.rollout), ("scoring", t.scoring, r.scoring),
                ("update", t.update, r.update), ("update_forward", t.forward, r.forward),
                ("update_backward", t.backward, r.backward), ("update_clip", t.clip, r.clip),
                ("update_adamw", t.adamw, r.adamw)]
            for (phase, _, theirs) in pairs { printFigure("pytorch_\(label)_\(phase)_seconds", theirs, "s") }
            for (phase, mine, theirs) in pairs { printFigure("\(name)_\(phase)_vs_pytorch_\(label)", mine / theirs, "x") }
        }
    }

    static func makeModels(_ config: TransformerConfig) -> Models {
        var a = WeightInit.random(seed: 1), r = WeightInit.random(seed: 1)
        var c = WeightInit.random(seed: 3), w = WeightInit.random(seed: 4)
        let actor = CausalLM(config: config, initializer: &a)
        let reference = CausalLM(config: config, initializer: &r)   // the SFT weights, frozen
        let critic = ScalarHeadModel(trunk: TransformerTrunk(config: config, initializer: &c), initializer: &c)
        let reward = ScalarHeadModel(trunk: TransformerTrunk(config: config, initializer: &w), initializer: &w)
        func decays(_ m: Module) -> [Bool] { m.namedParameters().map { !$0.0.hasSuffix(".bias") && !$0.0.contains("Norm") } }
        return Models(config: config, actor: actor, reference: reference, critic: critic, reward: reward,
                      actorOpt: AdamW(parameters: actor.parameters(), config: AdamWConfig(lr: lrActor, weightDecay: 0), decays: decays(actor)),
                      criticOpt: AdamW(parameters: critic.parameters(), config: AdamWConfig(lr: lrCritic, weightDecay: 0), decays: decays(critic)))
    }

    /// One iteration: 1. rollout 2. score 3. rewards 4. GAE 5. update (PPOTrainer.step()).
    func iterate(_ m: Models, index: Int, newTokens: Int, epochs: Int, minibatchLimit: Int) throws -> Timing {
        var timing = Timing()
        let config = m.config
        var rng = Philox(seed: 100 &+ UInt64(index))
        let prompts = (0..<rollout).map { _ in (0..<promptLength).map { _ in Int32(rng.nextUInt32() % UInt32(config.vocabSize)) } }

        // 1. Rollout: sampled (temperature 1, no top-k/top-p), EOS disabled.
        var start = now()
        let sampling = SamplingConfig(maxNewTokens: newTokens, temperature: 1, eosTokenIds: [], padTokenId: 0, seed: UInt64(index))
        let sampled = try Rollout.sample(m.actor, prompts: prompts, config: sampling, tokenizer: nil)
        let gen = sampled.generation
        timing.rollout = now() - start
        timing.rolloutTokens = gen.tokens.reduce(0) { $0 + $1.count }

        // 2. Score: one no-grad forward of actor, reference, critic and reward model.
        start = now()
        let seq = sampled.sequences, actions = sampled.actions, mask = sampled.actionMask  // (B, T), (B, A), (B, A)
        let b = sampled.batch, a = sampled.actionCount, tp = sampled.promptWidth
        let (old, ref, values, scores): (Tensor, Tensor, Tensor, [Float]) = try Tape.noGrad {
            (try ActionScoring.logprobs(m.actor, seq, promptWidth: tp, actions: actions, temperature: 1).logprobs.value,
             try ActionScoring.logprobs(m.reference, seq, promptWidth: tp, actions: actions, temperature: 1).logprobs.value,
             try ActionScoring.values(m.critic, seq, promptWidth: tp).value,
             try m.reward.lastTokenScores(seq).value.scalars)
        }
        // 3. Rewards: -beta kl_t per action, the score on the last action.  4. GAE, whitened.
        let shaped = try tokenRewards(scores: try Tensor(shape: [b], data: scores), oldLogprobs: old, refLogprobs: ref, mask: mask,
                                      beta: Self.klCoef, estimator: .k1, endsWithEOS: gen.hitEOS, shaping: ScoreShaping())
        let gae = try generalizedAdvantages(rewards: shaped.rewards, values: values, mask: mask, gamma: Self.gamma, lambda: Self.lambda)
        let advantages = try whiten(gae.advantages, mask: mask)
        timing.scoring = now() - start

        // 5. Update: epochs x (B / miniBatch) gradient steps on actor and critic.
        start = now()
        let actorParams = m.actor.parameters(), criticParams = m.critic.parameters()
        let tSeq = seq.time
        let trunkPerToken = config.forwardFLOPsPerToken(contextLength: tSeq) - 2 * Double(config.hiddenSize * config.vocabSize)
        var steps = 0
        for epoch in 0..<epochs {
            var order = Array(0..<b)
            var shuffle = Philox(seed: 7, stream: UInt64(index) &* 1000 &+ UInt64(epoch))
            for i in stride(from: b - 1, to: 0, by: -1) { order.swapAt(i, Int(shuffle.nextUInt32() % UInt32(i + 1))) }
            for lo in stride(from: 0, to: b, by: miniBatch) where steps < minibatchLimit {
                let idx = Array(order[lo..<min(b, lo + miniBatch)])
                func pick<T>(_ x: [T], _ w: Int) -> [T] { idx.flatMap { x[($0 * w)..<(($0 + 1) * w)] } }
                func pick(_ x: Tensor) throws -> Tensor { try Tensor(shape: [idx.count, a], data: pick(x.scalars, a)) }
                let mbSeq = try TokenBatch(ids: pick(seq.ids, tSeq), batch: idx.count, time: tSeq,
                                           attentionMask: pick(seq.attentionMask, tSeq), positions: pick(seq.positions, tSeq))
                let mbActions = pick(actions, a), mbMask = try pick(mask)
                let mbOld = try pick(old), mbAdv = try pick(advantages), mbValues = try pick(values), mbReturns = try pick(gae.returns)

                let f0 = now()
                let tape = Tape()
                let (total, pl, vl, entropy) = try tape.record { () throws -> (Variable, PolicyLossResult, ValueLossResult, Variable) in
                    let (lp, logits) = try ActionScoring.logprobs(m.actor, mbSeq, promptWidth: tp, actions: mbActions, temperature: 1)
                    let v = try ActionScoring.values(m.critic, mbSeq, promptWidth: tp)
                    let pl = try policyLoss(.clip(range: Self.clipRatio), logprobs: lp, oldLogprobs: mbOld, advantages: mbAdv, mask: mbMask)
                    let vl = try valueLoss(values: v, oldValues: mbValues, returns: mbReturns, mask: mbMask, clipRange: nil)
                    let total = try pl.loss + vl.loss.scaled(by: Self.vfCoef)
                    let entropy = try Tape.noGrad { try maskedEntropy(logits: Variable(logits.value), mask: mbMask) }
                    return (total, pl, vl, entropy)
                }
                let f1 = now()
                try tape.backward(total)
                let f2 = now()
                // Clipping fused into AdamW (AdamW.clipAndStep, split here to time both halves):
                // the norm pass, then one update pass that scales each gradient in registers.
                let actorNorm = try gradNorm(actorParams), criticNorm = try gradNorm(criticParams)
                let f3 = now()
                m.actorOpt.step(gradScale: clipCoefficient(totalNorm: actorNorm, maxNorm: Self.maxGradNorm))
                m.criticOpt.step(gradScale: clipCoefficient(totalNorm: criticNorm, maxNorm: Self.maxGradNorm))
                for p in actorParams { p.zeroGrad() }
                for p in criticParams { p.zeroGrad() }
                let f4 = now()
                _ = (pl.loss.value.item, vl.loss.value.item, entropy.value.item)
                timing.forward += f1 - f0; timing.backward += f2 - f1; timing.clip += f3 - f2; timing.adamw += f4 - f3

                let tokens = Double(idx.count * tSeq), actionTokens = Double(idx.count * a)
                let actorFLOPs = trunkPerToken * tokens + 2 * Double(config.hiddenSize * config.vocabSize) * actionTokens
                let criticFLOPs = trunkPerToken * tokens + 2 * Double(config.hiddenSize) * tokens
                timing.updateFLOPs += 3 * (actorFLOPs + criticFLOPs)
                steps += 1
            }
        }
        timing.update = now() - start
        return timing
    }
}
