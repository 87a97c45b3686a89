// DatasetArguments: the model, data and length fields the supervised trainers (SFT, reward)
// share, read from the same flat JSON object as the trainer's own fields, and the optional
// `peft` section (LoRA on the model being trained; docs/lora.md).
import Data
import Foundation
import Models
import RunKit
import Tokenizers

public struct DatasetArguments: Sendable {
    /// Hugging Face model directory (or .gguf file) to start from (required).
    public var modelPath = ""
    /// Tokenizer directory (default: modelPath).
    public var tokenizerPath: String?
    /// Training JSONL in TRL's shapes (required).
    public var trainFile = ""
    /// Held-out JSONL; when absent, `evalFraction` of trainFile is held out.
    public var evalFile: String?
    public var evalFraction = 0.05
    /// Prompt + response tokens kept per example (the prompt keeps its tail, the response its head).
    public var maxLength = 512
    /// Optional cap on prompt tokens.
    public var maxPromptLength: Int?
    /// Rows per evaluation batch (a preference pair or a whole rated group is one row).
    public var evalBatchSize = 8
    /// Dropout while training (GPT-2's residual and embedding dropout); nil = the model
    /// config's resid_pdrop / embd_pdrop. Llama-family models have none.
    public var dropout: Float?
    /// LoRA (PEFT LoraConfig names): only the adapters (and a reward model's score head) train;
    /// the output is a PEFT adapter folder. nil: the whole model trains.
    public var peft: PeftConfig?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case modelPath = "model_path", tokenizerPath = "tokenizer_path", trainFile = "train_file", evalFile = "eval_file"
        case evalFraction = "eval_fraction", maxLength = "max_length", maxPromptLength = "max_prompt_length"
        case evalBatchSize = "eval_batch_size", dropout, peft
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DatasetArguments()
        modelPath = try c.decode(String.self, forKey: .modelPath)
        tokenizerPath = try c.decodeIfPresent(String.self, forKey: .tokenizerPath)
        trainFile = try c.decode(String.self, forKey: .trainFile)
        evalFile = try c.decodeIfPresent(String.self, forKey: .evalFile)
        evalFraction = try c.decode(.evalFraction, default: d.evalFraction)
        maxLength = try c.decode(.maxLength, default: d.maxLength)
        maxPromptLength = try c.decodeIfPresent(Int.self, forKey: .maxPromptLength)
        evalBatchSize = try c.decode(.evalBatchSize, default: d.evalBatchSize)
        dropout = try c.decodeIfPresent(Float.self, forKey: .dropout)
        peft = try c.decodeIfPresent(PeftConfig.self, forKey: .peft)
    }

    public func validate(file: String) throws {
        func bad(_ k: CodingKeys, _ m: String) -> ConfigError { .invalidValue(file: file, field: k.rawValue, message: m) }
        func count(_ v: Int, _ range: ClosedRange<Int>, _ k: CodingKeys) throws {
            try CountLimits.check(v, range, field: k.rawValue, file: file)
        }
        try count(maxLength, 2...CountLimits.tokens, .maxLength)
        if let p = maxPromptLength { try count(p, 1...CountLimits.tokens, .maxPromptLength) }
        if !(0..<1).contains(evalFraction) { throw bad(.evalFraction, "must be in [0, 1)") }
        try count(evalBatchSize, 1...CountLimits.batch, .evalBatchSize)
        if let p = dropout, !(0..<1).contains(p) { throw bad(.dropout, "must be in [0, 1)") }
        try PeftSection.validate(peft, file: file, field: CodingKeys.peft.rawValue, modelPath: modelPath)
    }

    /// The tokenizer directory actually used.
    public var tokenizerDirectory: String { tokenizerPath ?? modelPath }

    /// Tokenization with these length limits.
    func exampleTokenizer(_ tokenizer: Tokenizer) throws -> ExampleTokenizer {
        try ExampleTokenizer(tokenizer: tokenizer, options: .init(truncation: TruncationPolicy(maxLength: maxLength, maxPromptLength: maxPromptLength)))
    }

    /// Preference groups (pairs and rated groups) of train_file and the held-out ones (eval_file,
    /// or a seeded eval_fraction), tokenized alike; the report is train_file's.
    func preferenceGroups(_ exTok: ExampleTokenizer, minRatingGap gap: Double, seed: UInt64) throws
        -> (train: [PreferenceGroup], eval: [PreferenceGroup], report: TokenizationReport) {
        let (groups, report) = try exTok.preferences(try PreferenceRow.load(URL(fileURLWithPath: trainFile)), minRatingGap: gap)
        let (train, eval) = try split(groups, seed: seed) {
            try exTok.preferences(try PreferenceRow.load(URL(fileURLWithPath: $0)), minRatingGap: gap).groups
        }
        return (train, eval, report)
    }

    /// Training and held-out examples: all of `examples` and `loadEval(evalFile)` when an eval
    /// file is given, else a seeded `evalFraction` of `examples` held out.
    func split<T>(_ examples: [T], seed: UInt64, loadEval: (String) throws -> [T]) throws -> (train: [T], eval: [T]) {
        if let evalFile { return (examples, try loadEval(evalFile)) }
        let split = try DataSplit(count: examples.count, evalFraction: evalFraction, seed: seed)
        return (split.train.map { examples[$0] }, split.eval.map { examples[$0] })
    }
}
