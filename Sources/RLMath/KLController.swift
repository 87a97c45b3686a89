// The reward's KL coefficient beta (docs/algorithms.md §4.7): fixed, or the adaptive
// proportional controller of Ziegler et al. 2019 ("Fine-Tuning Language Models from Human
// Preferences", eq. 2; TRL `AdaptiveKLController`). Codable: it lives in checkpoints.
// Leaves out: the PPO-paper penalty coefficient (that is `AdaptiveKLPenalty`).

/// beta for r_t = -beta * kl_t, updated once per rollout batch.
public struct KLController: Codable, Sendable, Equatable {
    public enum Schedule: Codable, Sendable, Equatable {
        case fixed
        /// target: KL per sequence (nats) to hold; horizon: episodes over which to correct.
        case adaptive(target: Float, horizon: Float)
    }

    public private(set) var beta: Float
    public let schedule: Schedule

    public init(fixed beta: Float) {
        self.beta = beta
        self.schedule = .fixed
    }

    public init(initialBeta: Float, target: Float, horizon: Float) {
        self.beta = initialBeta
        self.schedule = .adaptive(target: target, horizon: horizon)
    }

    /// e = clip(KL / target - 1, -0.2, 0.2),  beta *= 1 + e * nSteps / horizon,
    /// with KL the batch's mean per-sequence KL and nSteps the episodes in the batch.
    /// A no-op for `.fixed`.
    public mutating func update(currentKL: Float, nSteps: Int) {
        guard case let .adaptive(target, horizon) = schedule else { return }
        let e = min(max(currentKL / target - 1, -0.2), 0.2)
        beta *= 1 + e * Float(nSteps) / horizon
    }
}
