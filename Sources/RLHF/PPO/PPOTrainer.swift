// PPOTrainer: the RL engine (docs/algorithms.md §4, §7): actor (trained), frozen reference,
// a reward (model, rule, command or a weighted sum) and, for the `gae` estimator only, a
// critic. One iteration is the recipe
//   1. rollout  2. score  3. rewards  4. advantages  5. update  6. KL control  7. log/checkpoint
// with every formula in RLMath; this type only orchestrates. Real epochs over the prompt set
// (seeded shuffle); total_episodes counts prompts exactly. Data parallel under MPI: each rank
// rolls out and trains on its shard of every global batch (whole groups), with batch
// statistics and loss normalisers over the global batch (docs/distributed.md). With LoRA
// (`adapters`) only the adapters train and a reference that is the actor itself is run with
// them switched off (docs/lora.md). Leaves out a
// global mean of WeightedRewards' per-source metrics (each rank logs its own shard's).
import Data
import Distributed
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
    /// LoRA on the actor / the critic (EngineParts); nil: the whole model trains.
    public let adapters: LoRAAdapters?
    public let criticAdapters: LoRAAdapters?
    /// What the optimizers hold, with checkpoint names: the adapters (and the critic's head)
    /// with LoRA, else every parameter of the model.
    let actorTrainable: [(String, Variable)]
    let criticTrainable: [(String, Variable)]
    /// base_model_name_or_path of saved adapters.
    let actorBase: String
    let criticBase: String?
    public let reward: RewardSource
    public let tokenizer: Tokenizer
    /// Where the tokenizer files saved beside the model come from (nil: none are copied).
    let tokenizerDirectory: String?
    public let prompts: [PromptExample]
    public let eosIds: [Int32]
    public let padId: Int32
    let actorOpt: AdamW
    let criticOpt: AdamW?
    /// The optimizers (their state covers the adapters only with LoRA).
    public var actorOptimizer: AdamW { actorOpt }
    public var criticOptimizer: AdamW? { criticOpt }
    public private(set) var klController: KLController
    public private(set) var penalty: AdaptiveKLPenalty?
    var rewardStats = RunningMoments()
    var sampler: EpochSampler
    public private(set) var iteration = 0
    let log: (String) -> Void
    /// The ranks training together (set by `train`); a group of one by default.
    public internal(set) var communicator: any Communicator = SingleProcess()
    /// Global row indices of this rank's shard of the current rollout batch.
    var shard: Range<Int>?
    /// Rows in the current global rollout batch.
    var globalRows = 0
    /// Gradient sums over ranks for the actor and the critic, made on the first update.
    var reducers: (actor: GradientAllreduce, critic: GradientAllreduce)?
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
        adapters = parts.adapters
        criticAdapters = parts.criticAdapters
        actorBase = parts.actorBase ?? EngineParts.absolutePath(config.sftModelPath)
        criticBase = parts.criticBase
            ?? EngineParts.absolutePath(config.criticModelPath ?? config.rewardModelPath ?? config.sftModelPath)
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
        if let adapters, adapters.model !== actor && adapters.model.trunk !== actor.trunk {
            throw ConfigError.invalidValue(file: "ppo config", field: "peft", message: "the adapters are not attached to the actor")
        }
        if let criticAdapters, criticAdapters.scoreHead !== critic?.score {
            throw ConfigError.invalidValue(file: "ppo config", field: "critic_peft",
                                           message: "the critic adapters are not attached to the critic")
        }
        actorTrainable = adapters?.namedParameters() ?? actor.namedParameters()
        criticTrainable = criticAdapters?.namedParameters() ?? critic?.namedParameters() ?? []
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

        func decays(_ named: [(String, Variable)]) -> [Bool] { named.map { !$0.0.hasSuffix(".bias") && !$0.0.contains("Norm") } }
        actorOpt = AdamW(parameters: actorTrainable.map(\.1),
                         config: AdamWConfig(lr: config.lrActor, eps: config.adamEpsilon, weightDecay: 0), decays: decays(actorTrainable))
        let criticNamed = criticTrainable
        criticOpt = critic.map { _ in
            AdamW(parameters: criticNamed.map(\.1), config: AdamWConfig(lr: config.lrCritic, eps: config.adamEpsilon, weightDecay: 0),
                  decays: decays(criticNamed))
        }
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
        // This rank takes whole groups of the global batch; global row i samples from stream i.
        let globalPrompts = sampler.take(episodes(after: iteration + 1) - episodes(after: iteration))
            .flatMap { Array(repeating: prompts[$0], count: config.numGenerations) }
        let mine = try GlobalBatch(size: globalPrompts.count, ranks: communicator.size, groupSize: config.numGenerations,
                                   uneven: .spread).rows(ofRank: communicator.rank)
        (shard, globalRows) = (mine, globalPrompts.count)
        let batchPrompts = Array(globalPrompts[mine])
        let sampled = try config.precision.run { try rollout(batchPrompts, firstRow: mine.lowerBound) }
        let t1 = Date()
        // 2-4. Score, shape the rewards, estimate advantages.
        var exp = try config.precision.run { try makeExperience(sampled, batchPrompts) }
        let t2 = Date()
        // 5. Update: ppo_epochs passes over shuffled minibatches.
        let update = try config.precision.run { try self.update(&exp) }
        let t3 = Date()
        // 6. KL control, once per rollout batch.
        try controlKL(exp, update)
        iteration += 1

        // 7. Metrics, over the global batch: sums over the rows of every rank.
        let mask = exp.actionMask
        let rewardPerSeq = try maskedRowSums(exp.rewards, mask: mask).scalars
        var sums = [Double(exp.rawScores.reduce(0, +)), Double(rewardPerSeq.reduce(0, +)), Double(exp.klPerSequence.reduce(0, +)),
                    Double(exp.responseLengths.reduce(0, +)), Double(exp.hitEOS.filter { !$0 }.count), Double(exp.batch),
                    Double(exp.sequences.attentionMask.reduce(0, +))]
        try communicator.allreduce(&sums, .sum)
        let (rows, tokens) = (max(sums[5], 1), sums[3])
        var m: [(String, Double)] = [
            ("ppo/episodes", Double(episodes(after: iteration))),
            ("ppo/score_mean", sums[0] / rows),
            ("ppo/reward_total_mean", sums[1] / rows),
            ("ppo/kl_mean", sums[2] / rows),
            ("ppo/beta", Double(klController.beta)),
            ("ppo/response_length_mean", tokens / rows),
            ("ppo/truncated_fraction", sums[4] / rows),
            ("time/rollout_s", t1.timeIntervalSince(t0)), ("time/scoring_s", t2.timeIntervalSince(t1)), ("time/update_s", t3.timeIntervalSince(t2)),
            ("ppo/rollout_tokens_per_s", tokens / max(t1.timeIntervalSince(t0), 1e-9)),
            ("ppo/train_tokens_per_s", sums[6] * Double(config.ppoEpochs) / max(t3.timeIntervalSince(t2), 1e-9)),
        ]
        if critic != nil { m.append(("ppo/explained_variance", try globalExplainedVariance(exp))) }
        let criticFree: Set<String> = ["ppo/value_loss", "ppo/value_clip_fraction", "ppo/critic_grad_norm"]
        m += update.means.sorted { $0.key < $1.key }.filter { critic != nil || !criticFree.contains($0.key) }.map { ($0.key, $0.value) }
        if let penalty { m.append(("ppo/kl_penalty_beta", Double(penalty.beta))) }
        if let weighted = reward as? WeightedRewards {
            m += weighted.lastMeans.enumerated().map { ("ppo/reward_\($0.offset)", $0.element.mean) }   // in config order
        }
        if iteration % config.loggingSteps == 0 { try writeSamples(exp, globalPrompts) }
        return m
    }

    /// 1 - Var(returns - values) / Var(returns) over every rank's valid tokens.
    func globalExplainedVariance(_ exp: Experience) throws -> Double {
        guard communicator.size > 1 else {
            return Double(try explainedVariance(values: exp.values, returns: exp.returns, mask: exp.actionMask))
        }
        var diff = exp.returns
        for i in 0..<diff.count { diff[flat: i] = exp.returns[flat: i] - exp.values[flat: i] }
        let varR = try communicator.maskedMoments(exp.returns, mask: exp.actionMask, unbiased: false).variance
        let varD = try communicator.maskedMoments(diff, mask: exp.actionMask, unbiased: false).variance
        return varR > 0 ? Double(Float(1 - varD / varR)) : .nan
    }

    /// Step 1: samples one response per prompt from the actor (KV cache; the seed derives
    /// from the iteration and each row's stream from its global row `firstRow + j`, so a
    /// resumed run, or one on another number of ranks, samples the same tokens).
    public func rollout(_ batchPrompts: [PromptExample], firstRow: Int = 0) throws -> Rollout {
        let sampling = SamplingConfig(maxNewTokens: config.maxGenLen, temperature: config.temperature, topK: config.topK,
                                      topP: config.topP, eosTokenIds: eosIds, padTokenId: padId,
                                      seed: config.seed &* 1_000_003 &+ UInt64(iteration))
        return try Rollout.sample(actor, prompts: batchPrompts.map(\.ids), config: sampling, tokenizer: tokenizer, firstRow: firstRow)
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
             try referenceLogprobs(seq, promptWidth: tp, actions: actions),
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
            // Every rank adds the whole global batch, in global row order, so the stats agree.
            rewardStats.update(try communicator.allgather(raw).flatMap { $0 })
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
            advantages = try batchWhiten(gae.advantages, mask: mask)
            returns = gae.returns
        case .grpo:
            let total = try maskedRowSums(shaped.rewards, mask: mask).scalars
            advantages = try perToken(try groupAdvantages(total, groupSize: g), mask: mask)
        case .rloo:
            let total = try maskedRowSums(shaped.rewards, mask: mask).scalars
            advantages = try perToken(try rlooAdvantages(scores: total, groupSize: g), mask: mask)
        case .reinforcePP, .reinforcePPBaseline:
            advantages = try batchWhiten(try reinforcePlusPlusReturns(rewards: shaped.rewards, mask: mask), mask: mask)
        }
        return Experience(sequences: seq, promptWidth: tp, actions: actions, actionMask: mask, oldLogprobs: old, refLogprobs: ref,
                          values: values, rewards: shaped.rewards, advantages: advantages, returns: returns,
                          scores: shaped.scores.scalars, rawScores: raw, klPerSequence: shaped.klSum.scalars,
                          hitEOS: gen.hitEOS, responseLengths: gen.tokens.map(\.count))
    }

    /// log pi_ref of the actions: the reference model's, or with LoRA and no other reference
    /// named, the actor's own with every adapter switched off (the base it started from).
    func referenceLogprobs(_ seq: TokenBatch, promptWidth tp: Int, actions: [Int32]) throws -> Tensor {
        func score(_ m: CausalLM) throws -> Tensor {
            try ActionScoring.logprobs(m, seq, promptWidth: tp, actions: actions, temperature: config.temperature).logprobs.value
        }
        if let adapters, reference === actor { return try adapters.withAdaptersDisabled { try score(actor) } }
        return try score(reference)
    }

    /// GRPO's advantages; `scale_rewards: batch` divides by the sample std of the global batch's
    /// scores (groups, and so the other scales, stay on one rank).
    func groupAdvantages(_ total: [Float], groupSize g: Int) throws -> [Float] {
        guard communicator.size > 1, config.scaleRewards == .batch else {
            return try grpoAdvantages(scores: total, groupSize: g, scale: config.scaleRewards)
        }
        let all = try communicator.allgather(total).flatMap { $0 }.map(Double.init)
        let mu = all.reduce(0, +) / Double(all.count)
        let std = all.count > 1 ? (all.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(all.count - 1)).squareRoot() : 0
        let eps = 1e-4   // grpoAdvantages' default
        return try grpoAdvantages(scores: total, groupSize: g, scale: .none).map { Float(Double($0) / (std + eps)) }
    }

    /// Whitening over the global batch (RLMath's own with one rank).
    func batchWhiten(_ x: Tensor, mask: Tensor) throws -> Tensor {
        communicator.size == 1 ? try whiten(x, mask: mask) : try communicator.whiten(x, mask: mask)
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
        let actorParams = actorTrainable.map(\.1), criticParams = criticTrainable.map(\.1)
        var objective = config.objective
        if case .klPenalty = objective, let penalty { objective = .klPenalty(beta: penalty.beta, estimator: .k3) }
        // Minibatches are drawn from the global rows; this rank trains on those in its shard.
        let mine = shard ?? 0..<exp.batch
        if reducers == nil {
            reducers = (try GradientAllreduce(parameters: actorParams, communicator: communicator, reduction: .sum),
                        try GradientAllreduce(parameters: criticParams, communicator: communicator, reduction: .sum))
        }
        let (actorReducer, criticReducer) = reducers!
        /// Gradients summed over ranks, then clipping fused into AdamW (same bits as clipGradNorm,
        /// then step) for actor and critic; returns both norms before clipping (logged whether or
        /// not clipping is on).
        func sumClipAndStep() throws -> (actor: Float, critic: Float) {
            try actorReducer.reduce(); try criticReducer.reduce()
            let clip = config.maxGradNorm > 0 ? config.maxGradNorm : Float.infinity
            let norms = (try actorOpt.clipAndStep(maxNorm: clip), try criticOpt?.clipAndStep(maxNorm: clip) ?? 0)
            for p in actorParams { p.zeroGrad() }
            for p in criticParams { p.zeroGrad() }
            return norms
        }
        for order in orders ?? minibatchOrders(rows: shard == nil ? exp.batch : globalRows) {
            for start in stride(from: 0, to: order.count, by: config.miniBatchSize) {
                let globalSlice = order[start..<min(order.count, start + config.miniBatchSize)]
                let local = globalSlice.filter { mine.contains($0) }.map { $0 - mine.lowerBound }
                // Each rank's means are over its rows; weighted by its share of the global token
                // (or live-row) count, the summed gradients are those of the 1-rank minibatch.
                var counts = [0.0, 0.0]
                let mb = local.isEmpty ? nil : try exp.rows(local)
                if let mb {
                    let m = mb.actionMask, a = mb.actionCount
                    counts[0] = (0..<m.count).reduce(0.0) { $0 + Double(m[flat: $1]) }
                    counts[1] = Double((0..<mb.batch).filter { r in (0..<a).contains { m[flat: r * a + $0] != 0 } }.count)
                }
                var global = counts
                try communicator.allreduce(&global, .sum)
                let tokenShare = global[0] > 0 ? Float(counts[0] / global[0]) : 0
                let policyShare: Float
                switch config.lossType {
                case .tokenMean: policyShare = tokenShare
                case .sequenceMean: policyShare = global[1] > 0 ? Float(counts[1] / global[1]) : 0
                case .drGRPO: policyShare = 1   // its normaliser is already global: rows x max_gen_len
                }
                guard let mb, counts[0] > 0 else {
                    // Nothing of this minibatch here: take part in the sums with no gradient.
                    let (actorNorm, criticNorm) = try sumClipAndStep()
                    steps.append(try globalStats([0, 0, 0, 0, 0, 0], actorNorm, criticNorm))
                    continue
                }
                // LoRA dropout while training only, each row's masks keyed by (seed, iteration and
                // minibatch, global row) and indexed from the row's first prompt token: each rank pads
                // its prompts to its own width. The same on any number of ranks.
                let keys = local.map { (row: $0 + mine.lowerBound, sub: 0) }, step = iteration &* 1_000_003 &+ steps.count
                let t = mb.sequences.time
                let padding = (0..<mb.batch).map { r in mb.sequences.attentionMask[(r * t)..<((r + 1) * t)].prefix { $0 == 0 }.count }
                adapters?.setDropout(RowStreams(seed: config.seed &+ 0x4C6F5241, step: step, keys: keys).leftPadded(padding))
                criticAdapters?.setDropout(RowStreams(seed: config.seed &+ 0x4C6F5242, step: step, keys: keys).leftPadded(padding))
                defer { adapters?.setDropout(nil); criticAdapters?.setDropout(nil) }
                let tape = Tape()
                let (total, pl, vl, entropy) = try tape.record { () throws -> (Variable, PolicyLossResult, ValueLossResult?, Variable) in
                    let (lp, logits) = try ActionScoring.logprobs(actor, mb.sequences, promptWidth: mb.promptWidth, actions: mb.actions,
                                                                  temperature: config.temperature)
                    let pl = try policyLoss(objective, lp, mb, globalRows: globalSlice.count)
                    var total = pl.loss.scaled(by: objective.isClip ? policyShare : tokenShare)
                    var vl: ValueLossResult?
                    if let critic {
                        let values = try ActionScoring.values(critic, mb.sequences, promptWidth: mb.promptWidth)
                        let v = try valueLoss(values: values, oldValues: mb.values, returns: mb.returns, mask: mb.actionMask,
                                              clipRange: config.cliprangeValue)
                        total = try total + v.loss.scaled(by: config.vfCoef * tokenShare)
                        vl = v
                    }
                    let entropy: Variable
                    if config.entropyCoef != 0 {
                        entropy = try maskedEntropy(logits: logits, mask: mb.actionMask)
                        total = try total - entropy.scaled(by: config.entropyCoef * tokenShare)
                    } else {
                        entropy = try Tape.noGrad { try maskedEntropy(logits: Variable(logits.value), mask: mb.actionMask) }
                    }
                    return (total, pl, vl, entropy)
                }
                try tape.backward(total)
                let (actorNorm, criticNorm) = try sumClipAndStep()
                let (ps, ts) = (Double(objective.isClip ? policyShare : tokenShare), Double(tokenShare))
                let weighted = [Double(pl.loss.value.item) * ps, Double(vl?.loss.value.item ?? 0) * ts, Double(pl.clipFraction) * ts,
                                Double(vl?.clipFraction ?? 0) * ts, Double(pl.approxKL) * ts, Double(entropy.value.item) * ts]
                steps.append(try globalStats(weighted, actorNorm, criticNorm))
            }
        }
        var postUpdateKL: Float?
        if case .klPenalty = objective { postUpdateKL = try klFromOld(exp) }
        return PPOUpdateResult(steps: steps, postUpdateKL: postUpdateKL)
    }

    /// One minibatch's statistics summed over ranks (each already weighted by this rank's
    /// share): policy loss, value loss, clip fraction, value clip fraction, approx KL, entropy.
    func globalStats(_ weighted: [Double], _ actorNorm: Float, _ criticNorm: Float) throws -> PPOStepStats {
        var s = weighted
        try communicator.allreduce(&s, .sum)
        return PPOStepStats(policyLoss: Float(s[0]), valueLoss: Float(s[1]), clipFraction: Float(s[2]), valueClipFraction: Float(s[3]),
                            approxKL: Float(s[4]), entropy: Float(s[5]), actorGradNorm: actorNorm, criticGradNorm: criticNorm)
    }

    /// The policy loss of one minibatch: the clipped surrogate in its general form (separate
    /// upper range, KL to the reference in the loss, the configured aggregation), or kl_penalty.
    /// `globalRows`: the minibatch's rows over every rank (dr_grpo's constant normaliser).
    func policyLoss(_ objective: PolicyObjective, _ lp: Variable, _ mb: Experience, globalRows: Int? = nil) throws -> PolicyLossResult {
        guard case .clip = objective else {
            return try RLMath.policyLoss(objective, logprobs: lp, oldLogprobs: mb.oldLogprobs, advantages: mb.advantages, mask: mb.actionMask)
        }
        let aggregation: LossAggregation
        switch config.lossType {
        case .tokenMean: aggregation = .tokenMean
        case .sequenceMean: aggregation = .sequenceMean
        case .drGRPO: aggregation = .constant(normalizer: Float((globalRows ?? mb.batch) * config.maxGenLen))
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
        let k3 = try KLEstimator.k3.estimate(logp: exp.oldLogprobs, logq: now)
        if communicator.size == 1 { return try maskedMean(k3, mask: exp.actionMask) }
        return Float(try communicator.maskedMean(k3, mask: exp.actionMask))
    }

    /// Step 6: the reward's beta from the batch's mean KL per sequence (adaptive schedule
    /// only), and beta_pen of `kl_penalty` from the KL its update moved the policy by.
    public func controlKL(_ exp: Experience, _ update: PPOUpdateResult) throws {
        // The mean KL per sequence and the row count of the global batch.
        var kl = [exp.klPerSequence.reduce(0, +)], rows = [Int64(exp.batch)]
        if communicator.size > 1 { try communicator.allreduce(&kl, .sum); try communicator.allreduce(&rows, .sum) }
        klController.update(currentKL: kl[0] / Float(rows[0]), nSteps: Int(rows[0]))
        if let d = update.postUpdateKL { penalty?.update(measuredKL: d) }
    }

    /// Rank 0 writes every row of the global batch (`batchPrompts`): the others send it their
    /// responses and scores.
    func writeSamples(_ exp: Experience, _ batchPrompts: [PromptExample]) throws {
        let a = exp.actionCount
        var responses = (0..<exp.batch).map { r in Array(exp.actions[(r * a)..<(r * a + exp.responseLengths[r])]) }
        var scores = exp.rawScores
        if communicator.size > 1 {
            // Each row as its length then its tokens, in rank (= global row) order.
            let flat = responses.flatMap { [Int64($0.count)] + $0.map(Int64.init) }
            let all = try communicator.allgather(flat).flatMap { $0 }
            scores = try communicator.allgather(scores).flatMap { $0 }
            guard communicator.isRoot else { return }
            responses = []
            var i = 0
            while i < all.count { let n = Int(all[i]); responses.append(all[(i + 1)..<(i + 1 + n)].map { Int32($0) }); i += 1 + n }
        }
        let url = URL(fileURLWithPath: config.outputDir).appendingPathComponent("samples.jsonl")
        try FileManager.default.createDirectory(atPath: config.outputDir, withIntermediateDirectories: true)
        var lines = ""
        for r in 0..<responses.count {
            let obj: [String: Any] = ["iteration": iteration, "prompt": tokenizer.decode(batchPrompts[r].ids.map(Int.init), skipSpecialTokens: true),
                                      "response": tokenizer.decode(responses[r].map(Int.init), skipSpecialTokens: true),
                                      "score": Double(scores[r])]
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

extension PolicyObjective {
    /// The clipped surrogate, whose aggregation follows loss_type (kl_penalty is a token mean).
    var isClip: Bool { if case .clip = self { return true } else { return false } }
}
