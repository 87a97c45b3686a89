// SFTConfig: `rlhf sft --config FILE`. One flat JSON object: DatasetArguments fields
// (model_path, train_file, max_length, ...), `completion_only_loss`, and every
// TrainingArguments field. Unknown keys are errors naming the key.
import Foundation
import RunKit

public struct SFTConfig: Decodable, Sendable {
    public var data = DatasetArguments()
    /// Loss on completion tokens only (TRL's default); false = every real token.
    public var completionOnlyLoss = true
    public var training = TrainingArguments()

    public init() {}

    enum CodingKeys: String, CodingKey { case completionOnlyLoss = "completion_only_loss" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        data = try DatasetArguments(from: decoder)
        completionOnlyLoss = try c.decode(.completionOnlyLoss, default: true)
        training = try TrainingArguments(from: decoder)
    }

    public func validate(file: String) throws {
        try training.validate(file: file)
        try data.validate(file: file)
    }
}
