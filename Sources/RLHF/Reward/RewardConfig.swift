// RewardConfig: `rlhf reward --config FILE`. Flat JSON: these fields plus every
// TrainingArguments field. Unknown keys are errors naming the key.
import Foundation
import RunKit

public struct RewardConfig: Decodable, Sendable {
    /// SFT or base model directory whose trunk the reward model starts from; a
    /// *ForSequenceClassification checkpoint keeps its score head (required).
    public var modelPath = ""
    public var tokenizerPath: String?
    /// JSONL {"prompt","chosen","rejected"} (strings or message lists) (required).
    public var trainFile = ""
    public var evalFile: String?
    public var evalFraction = 0.05
    /// Tokens kept per prompt + response.
    public var maxLength = 512
    public var maxPromptLength: Int?
    /// Constant margin m in -log sigmoid(r_c - r_r - m).
    public var margin: Float = 0
    /// TRL's center_rewards_coefficient: adds c * mean((r_c + r_r)^2) (nil/0 = off).
    public var centerRewardsCoefficient: Float?
    public var evalBatchSize = 8
    /// Dropout while training (GPT-2's residual and embedding dropout); nil = the model
    /// config's resid_pdrop / embd_pdrop. Llama-family models have none.
    public var dropout: Float?
    public var training = TrainingArguments()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case modelPath = "model_path", tokenizerPath = "tokenizer_path", trainFile = "train_file", evalFile = "eval_file"
        case evalFraction = "eval_fraction", maxLength = "max_length", maxPromptLength = "max_prompt_length"
        case margin, centerRewardsCoefficient = "center_rewards_coefficient", evalBatchSize = "eval_batch_size", dropout
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = RewardConfig()
        modelPath = try c.decode(String.self, forKey: .modelPath)
        tokenizerPath = try c.decodeIfPresent(String.self, forKey: .tokenizerPath)
        trainFile = try c.decode(String.self, forKey: .trainFile)
        evalFile = try c.decodeIfPresent(String.self, forKey: .evalFile)
        evalFraction = try c.decode(.evalFraction, default: d.evalFraction)
        maxLength = try c.decode(.maxLength, default: d.maxLength)
        maxPromptLength = try c.decodeIfPresent(Int.self, forKey: .maxPromptLength)
        margin = try c.decode(.margin, default: d.margin)
        centerRewardsCoefficient = try c.decodeIfPresent(Float.self, forKey: .centerRewardsCoefficient)
        evalBatchSize = try c.decode(.evalBatchSize, default: d.evalBatchSize)
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout)
        training = try TrainingArguments(from: decoder)
    }

    public func validate(file: String) throws {
        try training.validate(file: file)
        if let p = dropout, !(0..<1).contains(p) { throw ConfigError.invalidValue(file: file, field: "dropout", message: "must be in [0, 1)") }
        if maxLength < 2 { throw ConfigError.invalidValue(file: file, field: "max_length", message: "must be >= 2") }
        if !(0..<1).contains(evalFraction) { throw ConfigError.invalidValue(file: file, field: "eval_fraction", message: "must be in [0, 1)") }
        if let c = centerRewardsCoefficient, c < 0 { throw ConfigError.invalidValue(file: file, field: "center_rewards_coefficient", message: "must be >= 0") }
    }
}
