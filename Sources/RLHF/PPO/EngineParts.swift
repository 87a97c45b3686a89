// EngineParts: what the RL engine runs on — actor, frozen reference, optional critic, the
// reward, the tokenizer and the tokenized prompts — and `load`, the engine's I/O: model
// directories or .gguf files, the reward model / rules / commands, the prompt file. The
// algorithm (PPOTrainer) takes the parts in memory. Leaves out validation of the parts against
// the config (PPOTrainer's init does that). With `peft` the actor carries LoRA adapters and,
// unless ref_model_path is named, the reference IS the actor (its adapters switched off when
// the reference log-probs are taken): one copy of the base weights in memory.
import Data
import Foundation
import Generation
import Models
import RunKit
import Tokenizers

public struct EngineParts {
    public var actor: CausalLM
    public var reference: CausalLM
    /// For the `gae` estimator only.
    public var critic: ScalarHeadModel?
    public var reward: RewardSource
    public var tokenizer: Tokenizer
    /// Tokenizer files copied beside saved models (nil: none).
    public var tokenizerDirectory: String?
    public var prompts: [PromptExample]
    public var eosIds: [Int32]
    public var padId: Int32
    /// LoRA on the actor (attached to `actor`, base frozen): only these train. With
    /// `reference === actor` the reference log-probs are the actor's with adapters disabled.
    public var adapters: LoRAAdapters?
    /// LoRA on the critic (attached to `critic`, its score head trainable with them).
    public var criticAdapters: LoRAAdapters?
    /// The bases recorded in saved adapters' base_model_name_or_path (absolute paths); nil:
    /// sft_model_path (actor) and the critic's path from the config, made absolute.
    public var actorBase: String?
    public var criticBase: String?

    public init(actor: CausalLM, reference: CausalLM, critic: ScalarHeadModel?, reward: RewardSource, tokenizer: Tokenizer,
                tokenizerDirectory: String?, prompts: [PromptExample], eosIds: [Int32], padId: Int32,
                adapters: LoRAAdapters? = nil, criticAdapters: LoRAAdapters? = nil) {
        self.actor = actor; self.reference = reference; self.critic = critic; self.reward = reward; self.tokenizer = tokenizer
        self.tokenizerDirectory = tokenizerDirectory; self.prompts = prompts; self.eosIds = eosIds; self.padId = padId
        self.adapters = adapters; self.criticAdapters = criticAdapters
    }

    /// Loads every part `config` names.
    public static func load(_ config: PPOConfig, log: (String) -> Void) throws -> EngineParts {
        // Models: the actor from the SFT model; the frozen reference from it too unless named.
        let bundle = try ModelBundle(directory: config.sftModelPath, tokenizerDirectory: config.tokenizerPath)
        // LoRA: the peft section's fresh adapters, or the adapter the SFT path is (continued).
        let adapters = try PeftSection.adapters(config.peft, loaded: bundle.adapters, file: "ppo config", field: "peft",
                                                family: bundle.model.config.family) {
            try LoRAAdapters(attachingTo: bundle.model, config: $0, seed: config.seed &+ 13, file: "ppo config")
        }
        let reference: CausalLM
        if adapters != nil && config.refModelPath == nil {
            reference = bundle.model   // the same weights: the trainer switches the adapters off for it
        } else {
            let refPath = config.refModelPath ?? config.sftModelPath
            reference = try ModelBundle(directory: refPath, tokenizerDirectory: config.tokenizerPath ?? config.sftModelPath).model
            for p in reference.parameters() { p.name = nil }
        }
        let tokenizerDirectory = config.tokenizerPath ?? config.sftModelPath
        if bundle.eosTokenIds.isEmpty { log("warning: the SFT model names no EOS token: every response runs to max_gen_len") }

        // Reward: a trained reward model and/or rules and commands, summed with their weights.
        var sources: [RewardSource] = []
        if let rm = config.rewardModelPath {
            let (model, fresh) = try ModelDirectory.loadScalarHead(rm)
            if fresh {
                throw RewardError(message: "\(rm): reward_model_path has no trained score head (score.weight); train one with `rlhf reward` first")
            }
            sources.append(ModelReward(model: model, tokenizer: try sameTokenizer(rm, tokenizerDirectory) ? nil : ModelBundle.loadTokenizer(rm), name: rm))
        }
        for spec in config.rewards {
            sources.append(spec.type == .command ? CommandReward(command: spec.command!, timeout: spec.timeoutSeconds) : try RuleReward(spec))
        }
        let reward: RewardSource
        if sources.count == 1 && (config.rewardWeights ?? [1]) == [1] {
            reward = sources[0]
        } else if !sources.isEmpty {
            reward = WeightedRewards(Array(zip(sources, config.rewardWeights ?? sources.map { _ in 1 })))
        } else {
            // The source article's behaviour, stated loudly: an untrained head on the SFT trunk.
            let (model, _) = try loadScalarHead(config.sftModelPath, seed: config.seed &+ 7, tokenizerDirectory: config.tokenizerPath)
            reward = ModelReward(model: model, tokenizer: nil, name: "untrained head on \(config.sftModelPath)")
            log("WARNING: no reward named (neither reward_model_path nor reward): using the SFT model with a fresh, UNTRAINED score head, as the source article's code does. Its rewards are meaningless until a trained reward model or a rule reward is configured.")
        }

        // Critic (gae only): explicit path, else the reward model's trunk, else the SFT model.
        // A LoRA reward model (adapter folder) as the critic's start keeps training its adapter.
        var critic: ScalarHeadModel?, criticAdapters: LoRAAdapters?, criticBase: String?
        if config.advantageEstimator.needsCritic {
            let criticPath = config.criticModelPath ?? config.rewardModelPath ?? config.sftModelPath
            var loaded: LoRAAdapters?
            if try LoRAFiles.isAdapterOnly(criticPath) {
                (critic, loaded) = try ModelDirectory.loadScalarHeadAdapter(criticPath)
                criticBase = try LoRAFiles.recordedBase(ofAdapter: criticPath)
            } else {
                critic = try loadScalarHead(criticPath, seed: config.seed &+ 11, tokenizerDirectory: config.tokenizerPath).model
                criticBase = criticPath
            }
            let model = critic!
            criticAdapters = try PeftSection.adapters(config.criticPeft, loaded: loaded, file: "ppo config", field: "critic_peft",
                                                      family: model.config.family) {
                try LoRAAdapters(attachingTo: model, config: $0, seed: config.seed &+ 17, file: "ppo config")
            }
        } else if config.criticModelPath != nil {
            log("note: critic_model_path is unused: \(config.advantageEstimator.rawValue) has no critic")
        }

        // Prompts, tokenized once; long prompts keep their tail (and a leading BOS), as the
        // SFT and reward trainers truncate them.
        let rows: [PromptRow]
        switch config.promptData {
        case let .file(path): rows = try PromptRow.load(URL(fileURLWithPath: path))
        case let .inline(texts): rows = try PromptRow.inline(texts)
        }
        let truncation = TruncationPolicy(maxPromptLength: config.maxPromptLength)
        let prompts = try ExampleTokenizer(tokenizer: bundle.tokenizer, options: .init(truncation: truncation)).prompts(rows).prompts
        var parts = EngineParts(actor: bundle.model, reference: reference, critic: critic, reward: reward, tokenizer: bundle.tokenizer,
                                tokenizerDirectory: tokenizerDirectory, prompts: prompts, eosIds: bundle.eosTokenIds,
                                padId: bundle.padTokenId, adapters: adapters, criticAdapters: criticAdapters)
        parts.actorBase = absolutePath(bundle.directory)
        parts.criticBase = criticBase.map(absolutePath)
        return parts
    }

    /// A scalar-head model from an HF directory, or from a .gguf file (its trunk with a
    /// fresh head: GGUF files hold causal LMs only).
    static func loadScalarHead(_ path: String, seed: UInt64, tokenizerDirectory: String?) throws -> (model: ScalarHeadModel, freshHead: Bool) {
        guard path.lowercased().hasSuffix(".gguf") else { return try ModelDirectory.loadScalarHead(path, seed: seed) }
        let trunk = try ModelBundle(directory: path, tokenizerDirectory: tokenizerDirectory).model.trunk
        var initializer = WeightInit.random(seed: seed)
        return (ScalarHeadModel(trunk: trunk, initializer: &initializer), true)
    }

    /// `path` from the working directory, as recorded in a saved adapter's base_model_name_or_path.
    static func absolutePath(_ path: String) -> String { URL(fileURLWithPath: path).standardizedFileURL.path }

    static func sameTokenizer(_ a: String, _ b: String) -> Bool {
        let fa = FileManager.default.contents(atPath: a + "/tokenizer.json"), fb = FileManager.default.contents(atPath: b + "/tokenizer.json")
        return fa != nil && fa == fb
    }
}
