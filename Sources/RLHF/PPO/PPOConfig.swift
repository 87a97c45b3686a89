// PPOConfig: `rlhf ppo --config ppo_config.json`. The source article's keys work as given
// (docs/algorithms.md §5); ours follow TRL / OpenRLHF names. Unknown keys are errors naming the key.
// Batch arithmetic is checked at load, naming the fields.
import Foundation
import Models
import RLMath
import RunKit
import TensorCore

public struct PPOConfig: Decodable, Sendable {
    // The source article's keys.
    /// Actor, reference (and by default critic) initialisation: an HF causal-LM directory.
    public var sftModelPath = ""
    public var outputDir = "runs/ppo"
    /// A JSONL path with {"prompt"} rows (optional "answer"), or an inline list of prompts.
    public var promptData: PromptSource = .inline([])
    /// Passes over each rollout batch (`num_iterations`, TRL's GRPO name, is accepted too).
    public var ppoEpochs = 4
    /// Rows per gradient step (rollout rows are split into minibatches of this size).
    public var miniBatchSize = 2
    /// Prompts sampled per PPO iteration.
    public var rolloutBatchSize = 8
    /// Prompts (episodes) to see in total, exactly: iterations = ceil(total / rollout_batch_size);
    /// batches continue across epochs of the prompt set and the last one may be short.
    public var totalEpisodes = 64
    public var lrActor: Float = 1e-5
    public var lrCritic: Float = 5e-5
    /// AdamW's epsilon for actor and critic (PyTorch's default).
    public var adamEpsilon: Float = 1e-8
    public var gamma: Float = 1
    public var lambda: Float = 0.95
    /// PPO ratio clip epsilon.
    public var clipRatio: Float = 0.2
    /// Initial (or fixed) beta of the per-token KL penalty in the reward.
    public var klCoef: Float = 0.05
    public var vfCoef: Float = 0.1
    /// New tokens per response, at most.
    public var maxGenLen = 64

    // Our keys.
    public var seed: UInt64 = 42
    public var tokenizerPath: String?
    /// A trained reward model (*ForSequenceClassification directory).
    public var rewardModelPath: String?
    /// A rule or command reward instead of a reward model.
    /// Rule or command rewards: one object, or a list whose scores are summed with
    /// `reward_weights` (a trained reward model, if named, comes first in that sum).
    public var rewards: [RewardSpec] = []
    /// One weight per reward source, the reward model first (TRL's reward_weights); default all 1.
    public var rewardWeights: [Float]?
    /// Critic initialisation (default: the reward model if given, else the SFT model).
    public var criticModelPath: String?
    /// The frozen reference pi_ref of the KL penalty (default: the SFT model, as in the
    /// recipe; another checkpoint of the same vocabulary, e.g. an earlier SFT stage).
    public var refModelPath: String?
    /// Sampling temperature; the old, reference and new log-probs are all taken at it.
    public var temperature: Float = 1
    /// Top-k / top-p truncation of the sampler (0 / 1 = off). They shape which tokens are
    /// drawn only: every log-prob PPO uses (old, reference, new) comes from the FULL softmax
    /// at `temperature`, so the ratio compares the same distributions at any step (TRL does
    /// likewise; the truncated sampler is a behaviour policy close to pi_old).
    public var topK = 0
    public var topP: Float = 1
    /// The surrogate: `clip` (default) or `kl_penalty` (adaptive beta_pen, docs/algorithms.md).
    public var policyLoss: PolicyLossKind = .clip
    public var klEstimator: KLEstimator = .k1
    public var adaptiveKL: AdaptiveKLSpec?
    /// Value clip range (nil = plain masked MSE, as the source article).
    public var cliprangeValue: Float?
    public var entropyCoef: Float = 0
    /// Subtracted from the score of responses that hit max_gen_len without EOS.
    public var missingEOSPenalty: Float?
    public var maxGradNorm: Float = 1
    /// Iterations between checkpoints (0 = none).
    public var saveSteps = 0
    /// Iterations between metric lines and sample tables.
    public var loggingSteps = 1

    // The critic-free estimators (docs/algorithms.md §7; names as TRL's GRPOConfig / OpenRLHF).
    /// `gae` (PPO with a critic), `grpo`, `rloo`, `reinforce_pp` or `reinforce_pp_baseline`.
    public var advantageEstimator: AdvantageEstimatorKind = .gae
    /// Responses sampled per prompt (G). grpo and rloo need >= 2; rollout rows = prompts x G.
    public var numGenerations = 1
    /// GRPO's division of the centred scores: by the group std, the batch std or not at all.
    public var scaleRewards: GroupScale = .group
    /// Coefficient of the k3 KL(pi_theta || pi_ref) term in the LOSS (GRPO style); 0 = off.
    /// The reward's KL (`kl_coef`) is separate; for grpo/rloo it is summed over the response
    /// and subtracted from the sequence score.
    public var beta: Float = 0
    /// DAPO's upper clip range 1 + epsilon_high (default: clip_ratio, i.e. symmetric).
    public var epsilonHigh: Float?
    /// How per-token policy losses become one number: token_mean (default), sequence_mean
    /// (GRPO) or dr_grpo (sum / (rows x max_gen_len)).
    public var lossType: LossTypeKind = .tokenMean
    /// "fp32" or "bf16": the matrix products of every model's forward and backward (bf16
    /// operands, fp32 accumulation); weights, optimizer state and losses stay fp32 (docs/precision.md).
    public var precision: Precision = .fp32
    /// LoRA on the actor (PEFT LoraConfig names, docs/lora.md): only the adapters train, the base
    /// stays frozen; without ref_model_path the reference is the actor with its adapters off.
    public var peft: PeftConfig?
    /// LoRA on the critic (gae only): adapters on its own base plus its trainable score head.
    public var criticPeft: PeftConfig?

    public enum AdvantageEstimatorKind: String, Decodable, Sendable {
        case gae, grpo, rloo
        case reinforcePP = "reinforce_pp"
        case reinforcePPBaseline = "reinforce_pp_baseline"
        /// Only GAE learns a value function.
        public var needsCritic: Bool { self == .gae }
    }

    public enum LossTypeKind: String, Decodable, Sendable {
        case tokenMean = "token_mean"
        case sequenceMean = "sequence_mean"
        case drGRPO = "dr_grpo"
    }

    // Further options (documented extras).
    /// Clip the sequence score to [-x, x] after the EOS penalty.
    public var rewardClip: Float?
    /// Normalise scores by the running mean/std of every score seen so far, this batch
    /// included (TRL's RunningMoments), before shaping.
    public var normalizeReward = false
    /// Longest prompt in tokens (longer prompts keep their tail).
    public var maxPromptLength = 256
    /// Checkpoints kept.
    public var saveTotalLimit = 2
    /// Allows a fresh run in a non-empty output_dir (files the run does not write are kept).
    public var overwriteOutputDir = false
    /// KL-penalty objective (policy_loss "kl_penalty"): initial beta_pen and its KL target.
    public var klPenaltyBeta: Float = 1
    public var klPenaltyTarget: Float = 0.01

    public enum PolicyLossKind: String, Decodable, Sendable {
        case clip
        case klPenalty = "kl_penalty"
    }

    public struct AdaptiveKLSpec: Decodable, Sendable, Equatable {
        /// Target KL per sequence (nats).
        public var target: Float
        /// Episodes over which the controller corrects.
        public var horizon: Float
    }

    public enum PromptSource: Sendable, Equatable, Decodable {
        case file(String)
        case inline([String])

        public init(from decoder: Decoder) throws {
            // Read the raw value first: probing with `try? decode(String)` would count as a
            // type error in the strict decoder.
            switch try JSONTree(from: decoder) {
            case let .string(s): self = .file(s)
            case let .array(items):
                self = .inline(try items.enumerated().map { i, v in
                    guard case let .string(s) = v else {
                        throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "prompt_data[\(i)] must be a string"))
                    }
                    return s
                })
            default:
                throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "prompt_data must be a JSONL path or a list of prompt strings"))
            }
        }
    }

    public init() {}

    enum CodingKeys: String, CodingKey {
        case sftModelPath = "sft_model_path", outputDir = "output_dir", promptData = "prompt_data", ppoEpochs = "ppo_epochs"
        case miniBatchSize = "mini_batch_size", rolloutBatchSize = "rollout_batch_size", totalEpisodes = "total_episodes"
        case lrActor = "lr_actor", lrCritic = "lr_critic", gamma, lambda, clipRatio = "clip_ratio", klCoef = "kl_coef"
        case vfCoef = "vf_coef", maxGenLen = "max_gen_len"
        case seed, tokenizerPath = "tokenizer_path", rewardModelPath = "reward_model_path", reward
        case criticModelPath = "critic_model_path", refModelPath = "ref_model_path", temperature, topK = "top_k", topP = "top_p", policyLoss = "policy_loss"
        case klEstimator = "kl_estimator", adaptiveKL = "adaptive_kl", cliprangeValue = "cliprange_value"
        case entropyCoef = "entropy_coef", missingEOSPenalty = "missing_eos_penalty", maxGradNorm = "max_grad_norm"
        case saveSteps = "save_steps", loggingSteps = "logging_steps"
        case rewardClip = "reward_clip", normalizeReward = "normalize_reward", maxPromptLength = "max_prompt_length"
        case overwriteOutputDir = "overwrite_output_dir"
        case saveTotalLimit = "save_total_limit", klPenaltyBeta = "kl_penalty_beta", klPenaltyTarget = "kl_penalty_target"
        case advantageEstimator = "advantage_estimator", numGenerations = "num_generations", scaleRewards = "scale_rewards"
        case beta, epsilonHigh = "epsilon_high", lossType = "loss_type", adamEpsilon = "adam_epsilon", rewardWeights = "reward_weights"
        case numIterations = "num_iterations"
        case precision, peft, criticPeft = "critic_peft"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PPOConfig()
        sftModelPath = try c.decode(String.self, forKey: .sftModelPath)
        outputDir = try c.decode(.outputDir, default: d.outputDir)
        promptData = try c.decode(PromptSource.self, forKey: .promptData)
        // TRL's GRPOConfig calls the updates per rollout num_iterations; either name, not both.
        if c.contains(.numIterations) && c.contains(.ppoEpochs) {
            throw DecodingError.dataCorruptedError(forKey: .numIterations, in: c,
                                                   debugDescription: "num_iterations is TRL's name for ppo_epochs: give one of them")
        }
        ppoEpochs = try c.decodeIfPresent(Int.self, forKey: .numIterations) ?? c.decode(.ppoEpochs, default: d.ppoEpochs)
        miniBatchSize = try c.decode(.miniBatchSize, default: d.miniBatchSize)
        rolloutBatchSize = try c.decode(.rolloutBatchSize, default: d.rolloutBatchSize)
        totalEpisodes = try c.decode(.totalEpisodes, default: d.totalEpisodes)
        lrActor = try c.decode(.lrActor, default: d.lrActor)
        lrCritic = try c.decode(.lrCritic, default: d.lrCritic)
        gamma = try c.decode(.gamma, default: d.gamma)
        lambda = try c.decode(.lambda, default: d.lambda)
        clipRatio = try c.decode(.clipRatio, default: d.clipRatio)
        klCoef = try c.decode(.klCoef, default: d.klCoef)
        vfCoef = try c.decode(.vfCoef, default: d.vfCoef)
        maxGenLen = try c.decode(.maxGenLen, default: d.maxGenLen)
        seed = try c.decode(.seed, default: d.seed)
        tokenizerPath = try c.decodeIfPresent(String.self, forKey: .tokenizerPath)
        rewardModelPath = try c.decodeIfPresent(String.self, forKey: .rewardModelPath)
        rewards = try c.decodeIfPresent(RewardSpecList.self, forKey: .reward)?.specs ?? []
        rewardWeights = try c.decodeIfPresent([Float].self, forKey: .rewardWeights)
        criticModelPath = try c.decodeIfPresent(String.self, forKey: .criticModelPath)
        refModelPath = try c.decodeIfPresent(String.self, forKey: .refModelPath)
        temperature = try c.decode(.temperature, default: d.temperature)
        topK = try c.decode(.topK, default: d.topK)
        topP = try c.decode(.topP, default: d.topP)
        policyLoss = try c.decode(.policyLoss, default: d.policyLoss)
        klEstimator = try c.decode(.klEstimator, default: d.klEstimator)
        adaptiveKL = try c.decodeIfPresent(AdaptiveKLSpec.self, forKey: .adaptiveKL)
        cliprangeValue = try c.decodeIfPresent(Float.self, forKey: .cliprangeValue)
        entropyCoef = try c.decode(.entropyCoef, default: d.entropyCoef)
        missingEOSPenalty = try c.decodeIfPresent(Float.self, forKey: .missingEOSPenalty)
        maxGradNorm = try c.decode(.maxGradNorm, default: d.maxGradNorm)
        saveSteps = try c.decode(.saveSteps, default: d.saveSteps)
        loggingSteps = try c.decode(.loggingSteps, default: d.loggingSteps)
        rewardClip = try c.decodeIfPresent(Float.self, forKey: .rewardClip)
        normalizeReward = try c.decode(.normalizeReward, default: d.normalizeReward)
        maxPromptLength = try c.decode(.maxPromptLength, default: d.maxPromptLength)
        saveTotalLimit = try c.decode(.saveTotalLimit, default: d.saveTotalLimit)
        overwriteOutputDir = try c.decode(.overwriteOutputDir, default: d.overwriteOutputDir)
        klPenaltyBeta = try c.decode(.klPenaltyBeta, default: d.klPenaltyBeta)
        klPenaltyTarget = try c.decode(.klPenaltyTarget, default: d.klPenaltyTarget)
        advantageEstimator = try c.decode(.advantageEstimator, default: d.advantageEstimator)
        numGenerations = try c.decode(.numGenerations, default: d.numGenerations)
        scaleRewards = try c.decode(.scaleRewards, default: d.scaleRewards)
        beta = try c.decode(.beta, default: d.beta)
        epsilonHigh = try c.decodeIfPresent(Float.self, forKey: .epsilonHigh)
        lossType = try c.decode(.lossType, default: d.lossType)
        adamEpsilon = try c.decode(.adamEpsilon, default: d.adamEpsilon)
        precision = try c.decode(.precision, default: d.precision)
        peft = try c.decodeIfPresent(PeftConfig.self, forKey: .peft)
        criticPeft = try c.decodeIfPresent(PeftConfig.self, forKey: .criticPeft)
    }

    /// Sequences per rollout: prompts x responses per prompt.
    public var rolloutRows: Int { rolloutBatchSize * numGenerations }

    /// ceil(total_episodes / rollout_batch_size), without the `+ batch - 1` that wraps near Int.max.
    public var iterations: Int { totalEpisodes / rolloutBatchSize + (totalEpisodes % rolloutBatchSize == 0 ? 0 : 1) }

    public var objective: PolicyObjective {
        policyLoss == .klPenalty ? .klPenalty(beta: klPenaltyBeta, estimator: .k3) : .clip(range: clipRatio)
    }

    /// Every range and the batch arithmetic, errors naming the fields.
    public func validate(file: String) throws {
        func bad(_ k: CodingKeys, _ m: String) -> ConfigError { .invalidValue(file: file, field: k.rawValue, message: m) }
        if sftModelPath.isEmpty { throw bad(.sftModelPath, "must name a model directory") }
        if outputDir.isEmpty { throw bad(.outputDir, "is empty; expected the path of a folder for checkpoints, metrics and the model") }
        // Every count has an upper bound too (CountLimits), so arithmetic on it cannot wrap.
        func count(_ v: Int, _ range: ClosedRange<Int>, _ k: CodingKeys) throws {
            try CountLimits.check(v, range, field: k.rawValue, file: file)
        }
        try count(ppoEpochs, 1...CountLimits.epochs, .ppoEpochs)
        try count(rolloutBatchSize, 1...CountLimits.batch, .rolloutBatchSize)
        try count(totalEpisodes, 1...CountLimits.steps, .totalEpisodes)
        try count(maxGenLen, 1...CountLimits.tokens, .maxGenLen)
        try count(maxPromptLength, 1...CountLimits.tokens, .maxPromptLength)
        try count(topK, 0...CountLimits.tokens, .topK)
        try count(saveSteps, 0...CountLimits.steps, .saveSteps)
        try count(loggingSteps, 1...CountLimits.steps, .loggingSteps)
        try count(saveTotalLimit, 1...CountLimits.batch, .saveTotalLimit)
        try count(numGenerations, 1...1024, .numGenerations)
        if [.grpo, .rloo].contains(advantageEstimator) && numGenerations < 2 {
            throw bad(.numGenerations, "\(advantageEstimator.rawValue) compares responses to the same prompt: needs >= 2, got \(numGenerations)")
        }
        if advantageEstimator == .reinforcePPBaseline && numGenerations < 2 {
            throw bad(.numGenerations, "reinforce_pp_baseline subtracts the group mean: needs >= 2, got \(numGenerations)")
        }
        if miniBatchSize < 1 || miniBatchSize > rolloutRows {
            throw bad(.miniBatchSize, "must be in 1...rollout_batch_size x num_generations (\(rolloutRows)) rows, got \(miniBatchSize)")
        }
        if rolloutRows % miniBatchSize != 0 {
            throw bad(.miniBatchSize, "rollout rows \(rolloutRows) (rollout_batch_size x num_generations) must be a multiple of mini_batch_size \(miniBatchSize)")
        }
        if !(beta >= 0 && beta.isFinite) { throw bad(.beta, "must be a finite number >= 0") }
        if !(adamEpsilon > 0 && adamEpsilon.isFinite) { throw bad(.adamEpsilon, "must be a finite number > 0") }
        if let e = epsilonHigh, !(e > 0 && e.isFinite) { throw bad(.epsilonHigh, "must be > 0") }
        if policyLoss == .klPenalty && (epsilonHigh != nil || beta != 0 || lossType != .tokenMean) {
            throw bad(.policyLoss, "kl_penalty takes no epsilon_high, beta or loss_type (they shape the clipped objective)")
        }
        if !(lrActor > 0 && lrActor.isFinite) { throw bad(.lrActor, "must be a finite number > 0") }
        if !(lrCritic > 0 && lrCritic.isFinite) { throw bad(.lrCritic, "must be a finite number > 0") }
        if !(0...1).contains(gamma) { throw bad(.gamma, "must be in [0, 1]") }
        if !(0...1).contains(lambda) { throw bad(.lambda, "must be in [0, 1]") }
        if !(clipRatio > 0 && clipRatio < 1) { throw bad(.clipRatio, "must be in (0, 1)") }
        if !(klCoef >= 0 && klCoef.isFinite) { throw bad(.klCoef, "must be a finite number >= 0") }
        if !(vfCoef >= 0 && vfCoef.isFinite) { throw bad(.vfCoef, "must be a finite number >= 0") }
        if !(entropyCoef.isFinite) { throw bad(.entropyCoef, "must be a finite number") }
        if !(temperature > 0 && temperature.isFinite) { throw bad(.temperature, "must be a finite number > 0 (greedy rollouts have no exploration)") }
        if !(topP > 0 && topP <= 1) { throw bad(.topP, "must be in (0, 1]") }
        if let a = adaptiveKL, !(a.target > 0 && a.horizon > 0) { throw bad(.adaptiveKL, "target and horizon must be > 0") }
        if let v = cliprangeValue, !(v > 0) { throw bad(.cliprangeValue, "must be > 0") }
        if !(maxGradNorm >= 0 && maxGradNorm.isFinite) { throw bad(.maxGradNorm, "must be a finite number >= 0 (0 = no clipping)") }
        try PeftSection.validate(peft, file: file, field: CodingKeys.peft.rawValue, modelPath: sftModelPath)
        try PeftSection.validate(criticPeft, file: file, field: CodingKeys.criticPeft.rawValue,
                                 modelPath: criticModelPath ?? rewardModelPath ?? sftModelPath)
        if criticPeft != nil && !advantageEstimator.needsCritic {
            throw bad(.criticPeft, "\(advantageEstimator.rawValue) has no critic; critic_peft applies to gae only")
        }
        for spec in rewards { try spec.validate(file: file) }
        let sources = rewards.count + (rewardModelPath != nil ? 1 : 0)
        if let w = rewardWeights {
            guard w.count == sources else {
                throw bad(.rewardWeights, "\(w.count) weights for \(sources) reward sources (reward_model_path first, then each reward)")
            }
            guard w.allSatisfy(\.isFinite) else { throw bad(.rewardWeights, "must be finite numbers") }
        }
    }
}
