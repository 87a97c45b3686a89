// PPOConfig: `rlhf ppo --config ppo_config.json`. The article's keys work as given
// (SPEC section 3); ours have the names SPEC fixes. Unknown keys are errors naming the key.
// Batch arithmetic is checked at load, naming the fields.
import Foundation
import RLMath
import RunKit

public struct PPOConfig: Decodable, Sendable {
    // The article's keys.
    /// Actor, reference (and by default critic) initialisation: an HF causal-LM directory.
    public var sftModelPath = ""
    public var outputDir = "runs/ppo"
    /// A JSONL path with {"prompt"} rows (optional "answer"), or an inline list of prompts.
    public var promptData: PromptSource = .inline([])
    /// Passes over each rollout batch.
    public var ppoEpochs = 4
    /// Rows per gradient step (rollout rows are split into minibatches of this size).
    public var miniBatchSize = 2
    /// Prompts sampled per PPO iteration.
    public var rolloutBatchSize = 8
    /// Prompts (episodes) to see in total: iterations = ceil(total / rollout_batch_size).
    public var totalEpisodes = 64
    public var lrActor: Float = 1e-5
    public var lrCritic: Float = 5e-5
    public var gamma: Float = 1
    public var lambda: Float = 0.95
    /// PPO ratio clip epsilon.
    public var clipRatio: Float = 0.2
    /// Initial (or fixed) beta of the per-token KL penalty in the reward.
    public var klCoef: Float = 0.05
    public var vfCoef: Float = 0.1
    /// New tokens per response, at most.
    public var maxGenLen = 64

    // Our keys (SPEC section 3).
    public var seed: UInt64 = 42
    public var tokenizerPath: String?
    /// A trained reward model (*ForSequenceClassification directory).
    public var rewardModelPath: String?
    /// A rule or command reward instead of a reward model.
    public var reward: RewardSpec?
    /// Critic initialisation (default: the reward model if given, else the SFT model).
    public var criticModelPath: String?
    public var temperature: Float = 1
    public var topK = 0
    public var topP: Float = 1
    public var policyLoss = "clip"
    public var klEstimator: KLEstimator = .k1
    public var adaptiveKL: AdaptiveKLSpec?
    /// Value clip range (nil = plain masked MSE, as the article).
    public var cliprangeValue: Float?
    public var entropyCoef: Float = 0
    /// Subtracted from the score of responses that hit max_gen_len without EOS.
    public var missingEOSPenalty: Float?
    public var maxGradNorm: Float = 1
    /// Iterations between checkpoints (0 = none).
    public var saveSteps = 0
    /// Iterations between metric lines and sample tables.
    public var loggingSteps = 1

    // Further options (documented extras).
    /// Clip the sequence score to [-x, x] after the EOS penalty.
    public var rewardClip: Float?
    /// Normalise scores by running mean/std (TRL's RunningMoments) before shaping.
    public var normalizeReward = false
    /// Longest prompt in tokens (longer prompts keep their tail).
    public var maxPromptLength = 256
    /// Checkpoints kept.
    public var saveTotalLimit = 2
    /// KL-penalty objective (policy_loss "kl_penalty"): initial beta_pen and its KL target.
    public var klPenaltyBeta: Float = 1
    public var klPenaltyTarget: Float = 0.01

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
        case criticModelPath = "critic_model_path", temperature, topK = "top_k", topP = "top_p", policyLoss = "policy_loss"
        case klEstimator = "kl_estimator", adaptiveKL = "adaptive_kl", cliprangeValue = "cliprange_value"
        case entropyCoef = "entropy_coef", missingEOSPenalty = "missing_eos_penalty", maxGradNorm = "max_grad_norm"
        case saveSteps = "save_steps", loggingSteps = "logging_steps"
        case rewardClip = "reward_clip", normalizeReward = "normalize_reward", maxPromptLength = "max_prompt_length"
        case saveTotalLimit = "save_total_limit", klPenaltyBeta = "kl_penalty_beta", klPenaltyTarget = "kl_penalty_target"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = PPOConfig()
        sftModelPath = try c.decode(String.self, forKey: .sftModelPath)
        outputDir = try c.decode(.outputDir, default: d.outputDir)
        promptData = try c.decode(PromptSource.self, forKey: .promptData)
        ppoEpochs = try c.decode(.ppoEpochs, default: d.ppoEpochs)
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
        reward = try c.decodeIfPresent(RewardSpec.self, forKey: .reward)
        criticModelPath = try c.decodeIfPresent(String.self, forKey: .criticModelPath)
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
        klPenaltyBeta = try c.decode(.klPenaltyBeta, default: d.klPenaltyBeta)
        klPenaltyTarget = try c.decode(.klPenaltyTarget, default: d.klPenaltyTarget)
    }

    /// ceil(total_episodes / rollout_batch_size), without the `+ batch - 1` that wraps near Int.max.
    public var iterations: Int { totalEpisodes / rolloutBatchSize + (totalEpisodes % rolloutBatchSize == 0 ? 0 : 1) }

    public var objective: PolicyObjective {
        policyLoss == "kl_penalty" ? .klPenalty(beta: klPenaltyBeta, estimator: .k3) : .clip(range: clipRatio)
    }

    /// Every range and the batch arithmetic, errors naming the fields.
    public func validate(file: String) throws {
        func bad(_ k: CodingKeys, _ m: String) -> ConfigError { .invalidValue(file: file, field: k.rawValue, message: m) }
        if sftModelPath.isEmpty { throw bad(.sftModelPath, "must name a model directory") }
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
        if miniBatchSize < 1 || miniBatchSize > rolloutBatchSize {
            throw bad(.miniBatchSize, "must be in 1...rollout_batch_size (\(rolloutBatchSize)), got \(miniBatchSize)")
        }
        if rolloutBatchSize % miniBatchSize != 0 {
            throw bad(.miniBatchSize, "rollout_batch_size \(rolloutBatchSize) must be a multiple of mini_batch_size \(miniBatchSize)")
        }
        if totalEpisodes < 1 { throw bad(.totalEpisodes, "must be >= 1") }
        if maxGenLen < 1 { throw bad(.maxGenLen, "must be >= 1") }
        if !(lrActor > 0) { throw bad(.lrActor, "must be > 0") }
        if !(lrCritic > 0) { throw bad(.lrCritic, "must be > 0") }
        if !(0...1).contains(gamma) { throw bad(.gamma, "must be in [0, 1]") }
        if !(0...1).contains(lambda) { throw bad(.lambda, "must be in [0, 1]") }
        if !(clipRatio > 0 && clipRatio < 1) { throw bad(.clipRatio, "must be in (0, 1)") }
        if klCoef < 0 { throw bad(.klCoef, "must be >= 0") }
        if vfCoef < 0 { throw bad(.vfCoef, "must be >= 0") }
        if temperature <= 0 { throw bad(.temperature, "must be > 0 (PPO samples; greedy rollouts have no exploration)") }
        if topK < 0 { throw bad(.topK, "must be >= 0 (0 = off)") }
        if !(topP > 0 && topP <= 1) { throw bad(.topP, "must be in (0, 1]") }
        if !["clip", "kl_penalty"].contains(policyLoss) { throw bad(.policyLoss, "must be \"clip\" or \"kl_penalty\", got \"\(policyLoss)\"") }
        if let a = adaptiveKL, !(a.target > 0 && a.horizon > 0) { throw bad(.adaptiveKL, "target and horizon must be > 0") }
        if let v = cliprangeValue, !(v > 0) { throw bad(.cliprangeValue, "must be > 0") }
        if maxGradNorm < 0 { throw bad(.maxGradNorm, "must be >= 0 (0 = no clipping)") }
        if saveSteps < 0 { throw bad(.saveSteps, "must be >= 0") }
        if loggingSteps < 1 { throw bad(.loggingSteps, "must be >= 1") }
        if maxPromptLength < 1 { throw bad(.maxPromptLength, "must be >= 1") }
        if rewardModelPath != nil && reward != nil {
            throw ConfigError.invalidValue(file: file, field: "reward", message: "give either reward_model_path or reward, not both")
        }
        try reward?.validate(file: file)
    }
}
