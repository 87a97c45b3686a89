// DPOConfig: `rlhf dpo --config FILE`. Flat JSON with TRL DPOConfig's key names where one
// exists: DatasetArguments (model_path: the starting policy; train_file: {"prompt","chosen",
// "rejected"} pairs and/or rated groups), the loss options below, and every
// TrainingArguments field. The frozen reference is the starting model unless ref_model_path
// names another. Leaves out precomputed reference log-probs and the robust/BCO variants.
import Foundation
import RLMath
import RunKit

public struct DPOConfig: Decodable, Sendable {
    public enum LossType: String, Decodable, Sendable {
        case sigmoid, ipo, hinge
    }

    public var data = DatasetArguments()
    /// beta: how far the policy may move from the reference (TRL default 0.1).
    public var beta: Float = 0.1
    /// `sigmoid` (DPO), `ipo` (on length-averaged log-probs) or `hinge` (docs/algorithms.md §7).
    public var lossType: LossType = .sigmoid
    /// Conservative DPO's label noise e in [0, 0.5) (sigmoid only).
    public var labelSmoothing: Float = 0
    /// Treat log pi_ref as 0: no reference model is loaded.
    public var referenceFree = false
    /// The frozen reference (default: model_path, the starting policy).
    public var refModelPath: String?
    /// In rated groups, two responses are a comparison when their ratings differ by at least this.
    public var minRatingGap: Double = 0
    public var training = TrainingArguments()

    public init() {}

    enum CodingKeys: String, CodingKey {
        case beta, lossType = "loss_type", labelSmoothing = "label_smoothing", referenceFree = "reference_free"
        case refModelPath = "ref_model_path", minRatingGap = "min_rating_gap"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = DPOConfig()
        data = try DatasetArguments(from: decoder)
        beta = try c.decode(.beta, default: d.beta)
        lossType = try c.decode(.lossType, default: d.lossType)
        labelSmoothing = try c.decode(.labelSmoothing, default: d.labelSmoothing)
        referenceFree = try c.decode(.referenceFree, default: d.referenceFree)
        refModelPath = try c.decodeIfPresent(String.self, forKey: .refModelPath)
        minRatingGap = try c.decode(.minRatingGap, default: d.minRatingGap)
        training = try TrainingArguments(from: decoder)
    }

    public var loss: DPOLossType {
        switch lossType {
        case .sigmoid: return .sigmoid(labelSmoothing: labelSmoothing)
        case .ipo: return .ipo
        case .hinge: return .hinge
        }
    }

    public func validate(file: String) throws {
        func bad(_ k: CodingKeys, _ m: String) -> ConfigError { .invalidValue(file: file, field: k.rawValue, message: m) }
        try training.validate(file: file)
        try data.validate(file: file)
        if !(beta > 0 && beta.isFinite) { throw bad(.beta, "must be a finite number > 0, got \(beta)") }
        if !(labelSmoothing >= 0 && labelSmoothing < 0.5) { throw bad(.labelSmoothing, "must be in [0, 0.5), got \(labelSmoothing)") }
        if labelSmoothing > 0 && lossType != .sigmoid { throw bad(.labelSmoothing, "applies to loss_type \"sigmoid\" only") }
        if referenceFree && refModelPath != nil { throw bad(.refModelPath, "reference_free needs no reference model") }
        if !(minRatingGap >= 0 && minRatingGap.isFinite) { throw bad(.minRatingGap, "must be a finite number >= 0, got \(minRatingGap)") }
    }
}
