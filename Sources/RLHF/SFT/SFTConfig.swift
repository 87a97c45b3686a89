// SFTConfig: `rlhf sft --config FILE`. One flat JSON object: these fields plus every
// TrainingArguments field. Unknown keys are errors naming the key.
import Foundation
import RunKit

public struct SFTConfig: Decodable, Sendable {
    /// Hugging Face model directory to fine-tune (required).
    public var modelPath = ""
    /// Tokenizer directory (default: modelPath).
    public var tokenizerPath: String?
    /// JSONL in TRL's SFT shapes: {"prompt","completion"}, {"text"} or {"messages"} (required).
    public var trainFile = ""
    /// Held-out JSONL; when absent, `evalFraction` of trainFile is held out.
    public var evalFile: String?
    public var evalFraction = 0.05
    /// Prompt + completion tokens kept per example (prompt keeps its tail, completion its head).
    public var maxLength = 512
    /// Optional cap on prompt tokens.
    public var maxPromptLength: Int?
    /// Loss on completion tokens only (TRL's default); false = every real token.
    public var completionOnlyLoss = true
    public var evalBatchSize = 8
    /// Dropout while training (GPT-2's residual and embedding dropout); nil = the model
    /// config's resid_pdrop / embd_pdrop. Llama-family models have none.
    public var dropout: Float?
    public var training = TrainingArguments()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case modelPath = "model_path", tokenizerPath = "tokenizer_path", trainFile = "train_file", evalFile = "eval_file"
        case evalFraction = "eval_fraction", maxLength = "max_length", maxPromptLength = "max_prompt_length"
        case completionOnlyLoss = "completion_only_loss", evalBatchSize = "eval_batch_size", dropout
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = SFTConfig()
        modelPath = try c.decode(String.self, forKey: .modelPath)
        tokenizerPath = try c.decodeIfPresent(String.self, forKey: .tokenizerPath)
        trainFile = try c.decode(String.self, forKey: .trainFile)
        evalFile = try c.decodeIfPresent(String.self, forKey: .evalFile)
        evalFraction = try c.decode(.evalFraction, default: d.evalFraction)
        maxLength = try c.decode(.maxLength, default: d.maxLength)
        maxPromptLength = try c.decodeIfPresent(Int.self, forKey: .maxPromptLength)
        completionOnlyLoss = try c.decode(.completionOnlyLoss, default: d.completionOnlyLoss)
        evalBatchSize = try c.decode(.evalBatchSize, default: d.evalBatchSize)
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout)
        training = try TrainingArguments(from: decoder)
    }

    public func validate(file: String) throws {
        try training.validate(file: file)
        if let p = dropout, !(0..<1).contains(p) { throw ConfigError.invalidValue(file: file, field: "dropout", message: "must be in [0, 1)") }
        if maxLength < 2 { throw ConfigError.invalidValue(file: file, field: "max_length", message: "must be >= 2") }
        if !(0..<1).contains(evalFraction) { throw ConfigError.invalidValue(file: file, field: "eval_fraction", message: "must be in [0, 1)") }
        if evalBatchSize < 1 { throw ConfigError.invalidValue(file: file, field: "eval_batch_size", message: "must be >= 1") }
    }
}
