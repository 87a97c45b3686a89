// RewardConfig: `rlhf reward --config FILE`. Flat JSON: DatasetArguments fields (model_path
// is an SFT or base model whose trunk the RM starts from; a *ForSequenceClassification
// checkpoint keeps its head; train_file holds {"prompt","chosen","rejected"} pairs and/or
// rated groups {"prompt","completions","ratings"}), the
// Bradley-Terry options below, and every TrainingArguments field.
import Foundation
import RunKit

public struct RewardConfig: Decodable, Sendable {
    public var data = DatasetArguments()
    /// Constant margin m in -log sigmoid(r_c - r_r - m).
    public var margin: Float = 0
    /// TRL's center_rewards_coefficient: adds c * mean((r_c + r_r)^2) (nil/0 = off).
    public var centerRewardsCoefficient: Float?
    /// In rated groups, two responses are a comparison when their ratings differ by at least
    /// this (0: any two different ratings). Pair rows are always one comparison.
    public var minRatingGap: Double = 0
    public var training = TrainingArguments()

    public init() {}

    enum CodingKeys: String, CodingKey { case margin, centerRewardsCoefficient = "center_rewards_coefficient", minRatingGap = "min_rating_gap" }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        data = try DatasetArguments(from: decoder)
        margin = try c.decode(.margin, default: 0)
        centerRewardsCoefficient = try c.decodeIfPresent(Float.self, forKey: .centerRewardsCoefficient)
        minRatingGap = try c.decode(.minRatingGap, default: 0)
        training = try TrainingArguments(from: decoder)
    }

    public func validate(file: String) throws {
        try training.validate(file: file)
        try data.validate(file: file)
        if let c = centerRewardsCoefficient, c < 0 {
            throw ConfigError.invalidValue(file: file, field: "center_rewards_coefficient", message: "must be >= 0")
        }
        guard minRatingGap >= 0 && minRatingGap.isFinite else {
            throw ConfigError.invalidValue(file: file, field: "min_rating_gap", message: "must be a finite number >= 0, got \(minRatingGap)")
        }
    }
}
