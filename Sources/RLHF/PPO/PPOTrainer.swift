// PPOTrainer: the RL engine (docs/algorithms.md §4, §7): actor (trained), frozen reference,
// a reward (model, rule, command or a weighted sum) and, for the `gae` estimator only, a
// critic. One iteration is the recipe
//   1. rollout  2. score  3. rewards  4. advantages  5. update  6. KL control  7. log/checkpoint
// with every formula in RLMath; this type only orchestrates. Real epochs over the prompt set
// (seeded shuffle); total_episodes counts prompts exactly. Leaves out data parallelism.
import Data
import Foundation
import Generation
import Models
import NN
import RLMath
import RunKit
import TensorCore
import Tokenizers

public final class PPOTrainer {
    public let config: PPOConfig
    public let actor: CausalLM
    public let reference: CausalLM
    /// V_phi, for the `gae` estimator only (the critic-free ones have none).
    public let critic: ScalarHeadModel?
    public let reward: RewardSource
    public let tokenizer: Tokenizer
    /// Where the tokenizer files saved beside the model come from (nil: none are copied).
    let tokenizerDirectory: String?
    public let prompts: [PromptExample]
    public let eosIds: [Int32]
    public let padId: Int32
    let actorOpt: AdamW
    let criticOpt: AdamW?
    public private(set) var klController: KLController
    public private(set) var penalty: AdaptiveKLPenalty?
    var rewardStats = RunningMoments()
    var sampler: EpochSampler
    public private(set) var iteration = 0
    let log: (String) -> Void

    /// Loads every part the config names (EngineParts.load), then builds the engine on them.
    public convenience init(config: PPOConfig, log: @escaping (String) -> Void = { _ in }) throws {
        try self.init(config: config, parts: try EngineParts.load(config, log: log), log: log)
    }

    /// The engine on parts already in memory (a benchmark's or a test's models): checks that
    /// they fit the config, then makes the optimizers, the KL controllers and the sampler.
    public init(config: PPOConfig, parts: EngineParts, log: @escaping (String) -> Void = { _ in }) throws {
        self.config = config
        self.log = log
        actor = parts.actor
        reference = parts.reference
        critic = parts.critic
        reward = parts.reward
        tokenizer = parts.tokenizer
        tokenizerDirectory = parts.tokenizerDirectory
        prompts = parts.prompts
        eosIds = parts.eosIds
        padId = parts.padId
        guard reference.config.vocabSize == actor.config.vocabSize else {
            throw ConfigError.invalidValue(file: "ppo config", field: "ref_model_path",
                                           message: "the reference has a vocabulary of \(reference.config.vocabSize), the actor \(actor.config.vocabSize)")
        }
        guard (critic != nil) == config.advantageEstimator.needsCritic else {
            throw ConfigError.invalidValue(file: "ppo config", field: "advantage_estimator",
                                           message: "\(config.advantageEstimator.rawValue) \(critic == nil ? "needs" : "has no use for") a critic")
        }
        guard !prompts.isEmpty else { throw RewardError(message: "prompt_data: no prompts") }
        if let empty = prompts.firstIndex(where: { $0.ids.isEmpty }) {
            throw RewardError(message: "prompt_data: prompt \(empty) tokenizes to nothing")
        }
        let widest = prompts.map(\.ids.count).max()!
        if widest + config.maxGenLen > actor.config.maxPositions {
            throw ConfigError.invalidValue(file: "ppo config", field: "max_gen_len",
                                           message: "the longest prompt (\(widest) tokens) + max_gen_len \(config.maxGenLen) exceeds the model's context of \(actor.config.maxPositions)")
        }
        sampler = try EpochSampler(indices: Array(prompts.indices), batchSize: config.rolloutBatchSize, seed: config.seed)

        func decays(_ m: Module) -> [Bool] { m.namedParameters().map { !$0.0.hasSuffix(".bias") && !$0.0.contains("Norm") } }
        actorOpt = AdamW(parameters: actor.parameters(), config: AdamWConfig(lr: config.lrActor, eps: config.adamEpsilon, weightDecay: 0), decays: decays(actor))
        criticOpt = critic.map { AdamW(parameters: $0.parameters(), config: AdamWConfig(lr: config.lrCritic, eps: config.adamEpsilon, weightDecay: 0), decays: decays($0)) }
        if let a = config.adaptiveKL {
            klController = KLController(initialBeta: config.klCoef, target: a.target, horizon: a.horizon)
        } else {
            klController = KLController(fixed: config.klCoef)
        }
        if config.policyLoss == .klPenalty { penalty = AdaptiveKLPenalty(beta: config.klPenaltyBeta, target: config.klPenaltyTarget) }
        log("ppo: \(prompts.count) prompts, \(config.iterations) iterations of \(config.rolloutBatchSize), reward: \(reward.name)")
        if let note = config.precision.fallbackNote() { log(note) }
    }

    // MARK: - One iteration

    /// Prompts (episodes) seen after `iterations` iterations: every batch is full but the
    /// last, which stops at exactly `total_episodes`.
    public func episodes(after iterations: Int) -> Int {
        iterations >= config.iterations ? config.totalEpisodes : iterations * config.rolloutBatchSize
    }

    /// Runs one PPO iteration and returns its metrics.
    public func step() throws -> [(String, Double)] {
        let t0 = Date()
        // 1. Rollout: the next prompts of the epoch (continuing into the next epoch's shuffle).
        // Each prompt G times in a row: rows g*G ..< (g+1)*G are one prompt's group.
        let batchPrompts = sampler.take(episodes(after: iteration + 1) - episodes(after: iteration))
            .flatMap { Array(repeating: prompts[$0], count: config.numGenerations) }
        let sampled = try config.precision.run { try rollout(batchPrompts) }
        let t1 = Date()
        // 2-4. Score, shape the rewards, estimate advantages.
        var exp = try config.precision.run { try makeExperience(sampled, batchPrompts) }
        let t2 = Date()
        // 5. Update: ppo_epochs passes over shuffled minibatches.
        let update = try config.precision.run { try self.update(&exp) }
        let t3 = Date()
        // 6. KL control, once per rollout batch.
        controlKL(exp, update)
        iteration += 1

        // 7. Metrics.
        let mask = exp.actionMask
        let rewardPerSeq = try maskedRowSums(exp.rewards, mask: mask).scalars
        let tokens = exp.responseLengths.reduce(0, +)
        var m: [(String, Double)] = [
            ("ppo/episodes", Double(episodes(after: iteration))),
            ("ppo/score_mean", mean(exp.rawScores)),
            ("ppo/reward_total_mean", mean(rewardPerSeq)),
            ("ppo/kl_mean", mean(exp.klPerSequence)),
            ("ppo/beta", Double(klController.beta)),
            ("ppo/response_length_mean", Double(tokens) / Double(exp.batch)),
            ("ppo/truncated_fraction", Double(exp.hitEOS.filter { !$0 }.count) / Double(exp.batch)),
            ("time/rollout_s", t1.timeIntervalSince(t0)), ("time/scoring_s", t2.timeIntervalSince(t1)), ("time/update_s", t3.timeIntervalSince(t2)),
            ("ppo/rollout_tokens_per_s", Double(tokens) / max(t1.timeIntervalSince(t0), 1e-9)),
            ("ppo/train_tokens_per_s", Double(exp.sequences.attentionMask.reduce(0, +)) * Double(config.ppoEpochs) / max(t3.timeIntervalSince(t2), 1e-9)),
        ]
        if critic != nil { m.append(("ppo/explained_variance", Double(try explainedVariance(values: exp.values, returns: exp.returns, mask: mask)))) }
        let criticFree: Set<String> = ["ppo/value_loss", "ppo/value_clip_fraction", "ppo/critic_grad_norm"]
        m += update.means.sorted { $0.key < $1.key }.filter { critic != nil || !criticFree.contains($0.key) }.map { ($0.key, $0.value) }
        if let penalty { m.append(("ppo/kl_penalty_beta", Double(penalty.beta))) }
        if let weighted = reward as? WeightedRewards {
            m += weighted.lastMeans.enumerated().map { ("ppo/reward_\($0.offset)", $0.element.mean) }   // in config order
        }
        if iteration % config.loggingSteps == 0 { try writeSamples(exp, batchPrompts) }
        return m
    }

    func mean(_ x: [Float]) -> Double { x.isEmpty ? 0 : Double(x.reduce(0, +)) / Double(x.count) }

    /// Step 1: samples one response per prompt from the actor (KV cache; the seed derives
    /// from the iteration, so a resumed run samples the same tokens).
    public func rollout(_ batchPrompts: [PromptExample]) throws -> Rollout {
        let sampling = SamplingConfig(maxNewTokens: config.maxGenLen, temperature: config.temperature, topK: config.topK,
                                      topP: config.topP, eosTokenIds: eosIds, padTokenId: padId,
                                      seed: config.seed &* 1_000_003 &+ UInt64(iteration))
        return try Rollout.sample(actor, prompts: batchPrompts.map(\.ids), config: sampling, tokenizer: tokenizer)
    }

    /// Steps 2-4 on a given generation (fixed rollouts in tests).
    public func makeExperience(_ gen: GenerationResult, _ batchPrompts: [PromptExample]) throws -> Experience {
        try makeExperience(try Rollout(gen, pad: padId, tokenizer: tokenizer), batchPrompts)
    }

    /// Steps 2-4: scoring forwards, per-token rewards, advantages.
    public func makeExperience(_ rollout: Rollout, _ batchPrompts: [PromptExample]) throws -> Experience {
        let gen = rollout.generation, seq = rollout.sequences, actions = rollout.actions, mask = rollout.actionMask
        let b = rollout.batch, a = rollout.actionCount, tp = rollout.promptWidth
        // 2. Score: one no-grad forward of each model over prompt + response.
        let (old, ref, values): (Tensor, Tensor, Tensor) = try Tape.noGrad {
            (try ActionScoring.logprobs(actor, seq, promptWidth: tp, actions: actions, temperature: config.temperature).logprobs.value,
             try ActionScoring.logprobs(reference, seq, promptWidth: tp, actions: actions, temperature: config.temperature).logprobs.value,
             try critic.map { try ActionScoring.values($0, seq, promptWidth: tp).value } ?? Tensor(zeros: [b, a]))
        }
        let rewardBatch = RewardBatch(prompts: batchPrompts.map { tokenizer.decode($0.ids.map(Int.init), skipSpecialTokens: true) },
                                      responses: rollout.responses, answers: batchPrompts.map(\.answer), sequences: seq,
                                      responseLengths: gen.tokens.map(\.count), endsWithEOS: gen.hitEOS)
        let raw = try reward.scores(rewardBatch)
        guard raw.count == b, raw.allSatisfy(\.isFinite) else {
            throw RewardError(message: "reward \(reward.name) returned \(raw) for \(b) responses (finite numbers required)")
        }
        var scores = raw
        if config.normalizeReward {
            // The running statistics of every score so far (this batch included), not the
            // batch's own: a batch of one would otherwise always normalise to 0.
            rewardStats.update(raw)
            let (mu, sd) = (rewardStats.mean, max(rewardStats.std, 1e-8))
            scores = raw.map { Float((Double($0) - mu) / sd) }
        }
        let g = config.numGenerations
        if config.advantageEstimator == .reinforcePPBaseline { scores = try centredScores(scores, groupSize: g) }
        // 3. Rewards: -beta * kl_t per action, the score on the last action (docs/algorithms.md §4.3).
        let shaped = try tokenRewards(scores: try Tensor(shape: [b], data: scores), oldLogprobs: old, refLogprobs: ref, mask: mask,
                                      beta: klController.beta, estimator: config.klEstimator, endsWithEOS: gen.hitEOS,
                                      shaping: ScoreShaping(missingEOSPenalty: config.missingEOSPenalty, clip: config.rewardClip))
        // 4. Advantages (docs/algorithms.md §4.4, §7). The critic-free group estimators see each
        //    response's total reward: its shaped score minus beta times its summed KL.
        var advantages: Tensor, returns = Tensor(zeros: [b, a])
        switch config.advantageEstimator {
        case .gae:
            let gae = try generalizedAdvantages(rewards: shaped.rewards, values: values, mask: mask, gamma: config.gamma, lambda: config.lambda)
            advantages = try whiten(gae.advantages, mask: mask)
            returns = gae.returns
        case .grpo:
            let total = try maskedRowSums(shaped.rewards, mask: mask).scalars
            advantages = try perToken(try grpoAdvantages(scores: total, groupSize: g, scale: config.scaleRewards), mask: mask)
        case .rloo:
            let total = try maskedRowSums(shaped.rewards, mask: mask).scalars
            advantages = try perToken(try rlooAdvantages(scores: total, groupSize: g), mask: mask)
        case .reinforcePP, .reinforcePPBaseline:
            advantages = try reinforcePlusPlusAdvantages(rewards: shaped.rewards, mask: mask)
        }
        return Experience(sequences: seq, promptWidth: tp, actions: actions, actionMask: mask, oldLogprobs: old, refLogprobs: ref,
                          values: values, rewards: shaped.rewards, advantages: advantages, returns: returns,
                          scores: shaped.scores.scalars, rawScores: raw, klPerSequence: shaped.klSum.scalars,
                          hitEOS: gen.hitEOS, responseLengths: gen.tokens.map(\.count))
    }

    /// The minibatch orders of one update: one seeded permutation of the rows per epoch.
    public func minibatchOrders(rows: Int) -> [[Int]] {
        (0..<config.ppoEpochs).map { epoch in
            Shuffle.permutation(count: rows, seed: config.seed, stream: UInt64(iteration) &* 1000 &+ UInt64(epoch) &+ 17)
        }
    }

    /// Step 5: for each epoch's order (default `minibatchOrders`), one gradient step of
    /// actor and critic per `mini_batch_size` rows. With `kl_penalty` it then measures
    /// KL(pi_old || pi_new) over the whole rollout, which drives beta_pen.
    public func update(_ exp: inout Experience, orders: [[Int]]? = nil) throws -> PPOUpdateResult {
        var steps: [PPOStepStats] = []
        let actorParams = actor.parameters(), criticParams = critic?.parameters() ?? []
        var objective = config.objective
        if case .klPenalty = objective, let penalty { objective = .klPenalty(beta: penalty.beta, estimator: .k3) }
        for order in orders ?? minibatchOrders(rows: exp.batch) {
            for start in stride(from: 0, to: order.count, by: config.miniBatchSize) {
                let mb = try exp.rows(Array(order[start..<min(order.count, start + config.miniBatchSize)]))
                let tape = Tape()
                let (total, pl, vl, entropy) = try tape.record { () throws -> (Variable, PolicyLossResult, ValueLossResult?, Variable) in
                    let (lp, logits) = try ActionScoring.logprobs(actor, mb.sequences, promptWidth: mb.promptWidth, actions: mb.actions,
                                                                  temperature: config.temperature)
                    let pl = try policyLoss(objective, lp, mb)
                    var total = pl.loss
                    var vl: ValueLossResult?
                    if let critic {
                        let values = try ActionScoring.values(critic, mb.sequences, promptWidth: mb.promptWidth)
                        let v = try valueLoss(values: values, oldValues: mb.values, returns: mb.returns, mask: mb.actionMask,
                                              clipRange: config.cliprangeValue)
                        total = try total + v.loss.scaled(by: config.vfCoef)
                        vl = v
                    }
                    let entropy: Variable
                    if config.entropyCoef != 0 {
                        entropy = try maskedEntropy(logits: logits, mask: mb.actionMask)
                        total = try total - entropy.scaled(by: config.entropyCoef)
                    } else {
                        entropy = try Tape.noGrad { try maskedEntropy(logits: Variable(logits.value), mask: mb.actionMask) }
                    }
                    return (total, pl, vl, entropy)
                }
                try tape.backward(total)
                // Norms before clipping are logged whether or not clipping is on.
                let clip = config.maxGradNorm > 0 ? config.maxGradNorm : Float.infinity
                // Clipping fused into AdamW (same bits as clipGradNorm, then step).
                let actorNorm = try actorOpt.clipAndStep(maxNorm: clip)
                let criticNorm = try criticOpt?.clipAndStep(maxNorm: clip) ?? 0
                for p in actorParams { p.zeroGrad() }
                for p in criticParams { p.zeroGrad() }
                steps.append(PPOStepStats(policyLoss: pl.loss.value.item, valueLoss: vl?.loss.value.item ?? 0, clipFraction: pl.clipFraction,
                                          valueClipFraction: vl?.clipFraction ?? 0, approxKL: pl.approxKL, entropy: entropy.value.item,
                                          actorGradNorm: actorNorm, criticGradNorm: criticNorm))
            }
        }
        var postUpdateKL: Float?
        if case .klPenalty = objective { postUpdateKL = try klFromOld(exp) }
        return PPOUpdateResult(steps: steps, postUpdateKL: postUpdateKL)
    }

    /// The policy loss of one minibatch: the clipped surrogate in its general form (separate
    /// upper range, KL to the reference in the loss, the configured aggregation), or kl_penalty.
    func policyLoss(_ objective: PolicyObjective, _ lp: Variable, _ mb: Experience) throws -> PolicyLossResult {
        guard case .clip = objective else {
            return try RLMath.policyLoss(objective, logprobs: lp, oldLogprobs: mb.oldLogprobs, advantages: mb.advantages, mask: mb.actionMask)
        }
        let aggregation: LossAggregation
        switch config.lossType {
        case .tokenMean: aggregation = .tokenMean
        case .sequenceMean: aggregation = .sequenceMean
        case .drGRPO: aggregation = .constant(normalizer: Float(mb.batch * config.maxGenLen))
        }
        return try clippedPolicyLoss(logprobs: lp, oldLogprobs: mb.oldLogprobs, advantages: mb.advantages, mask: mb.actionMask,
                                     clipLow: config.clipRatio, clipHigh: config.epsilonHigh ?? config.clipRatio, aggregation: aggregation,
                                     klInLoss: config.beta > 0 ? KLInLoss(beta: config.beta, refLogprobs: mb.refLogprobs) : nil)
    }

    /// KL(pi_old || pi_theta) of the current actor over the rollout: masked mean of k3 at the
    /// sampled tokens, an unbiased estimate since they were drawn from pi_old (no-grad pass).
    public func klFromOld(_ exp: Experience) throws -> Float {
        let now = try Tape.noGrad {
            try ActionScoring.logprobs(actor, exp.sequences, promptWidth: exp.promptWidth, actions: exp.actions,
                                       temperature: config.temperature).logprobs.value
        }
        return try maskedMean(try KLEstimator.k3.estimate(logp: exp.oldLogprobs, logq: now), mask: exp.actionMask)
    }

    /// Step 6: the reward's beta from the batch's mean KL per sequence (adaptive schedule
    /// only), and beta_pen of `kl_penalty` from the KL its update moved the policy by.
    public func controlKL(_ exp: Experience, _ update: PPOUpdateResult) {
        klController.update(currentKL: exp.klPerSequence.reduce(0, +) / Float(exp.batch), nSteps: exp.batch)
        if let d = update.postUpdateKL { penalty?.update(measuredKL: d) }
    }

    func writeSamples(_ exp: Experience, _ batchPrompts: [PromptExample]) throws {
        let url = URL(fileURLWithPath: config.outputDir).appendingPathComponent("samples.jsonl")
        try FileManager.default.createDirectory(atPath: config.outputDir, withIntermediateDirectories: true)
        var lines = ""
        for r in 0..<exp.batch {
            let resp = exp.actions[(r * exp.actionCount)..<(r * exp.actionCount + exp.responseLengths[r])].map(Int.init)
            let obj: [String: Any] = ["iteration": iteration, "prompt": tokenizer.decode(batchPrompts[r].ids.map(Int.init), skipSpecialTokens: true),
                                      "response": tokenizer.decode(resp, skipSpecialTokens: true), "score": Double(exp.rawScores[r])]
            lines += String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self) + "\n"
        }
        if !FileManager.default.fileExists(atPath: url.path) { FileManager.default.createFile(atPath: url.path, contents: nil) }
        let h = try FileHandle(forWritingTo: url)
        try h.seekToEnd(); try h.write(contentsOf: Foundation.Data(lines.utf8)); try h.close()
    }

    /// Restores the mutable state (used by PPOCheckpoint).
    func restore(iteration: Int, position: DataPosition, kl: KLController, penalty: AdaptiveKLPenalty?, rewardStats: RunningMoments) throws {
        self.iteration = iteration
        sampler = try EpochSampler(indices: Array(prompts.indices), batchSize: config.rolloutBatchSize, seed: config.seed, position: position)
        klController = kl
        self.penalty = penalty
        self.rewardStats = rewardStats
    }

    var samplerPosition: DataPosition { sampler.position }
}
