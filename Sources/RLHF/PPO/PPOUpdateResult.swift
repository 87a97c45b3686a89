// What one PPO update measured: per optimizer step (one minibatch) the losses, clip
// fractions, approximate KL, entropy and both models' gradient norms before clipping, and
// the KL(pi_old || pi_new) the `kl_penalty` objective measures after the update.
// Leaves out anything per token (see `Experience`).

/// One optimizer step of actor and critic on one minibatch.
public struct PPOStepStats: Sendable, Equatable {
    public var policyLoss: Float
    public var valueLoss: Float
    /// Fraction of valid tokens where the ratio clip cut the gradient.
    public var clipFraction: Float
    /// Fraction of valid tokens where the clipped value error was the larger.
    public var valueClipFraction: Float
    /// masked mean of k3(log pi_old - log pi_theta) before this step.
    public var approxKL: Float
    public var entropy: Float
    /// L2 norms of all gradients before clipping to `max_grad_norm`.
    public var actorGradNorm: Float
    public var criticGradNorm: Float
}

public struct PPOUpdateResult: Sendable {
    /// In order: epoch by epoch, minibatch by minibatch.
    public var steps: [PPOStepStats]
    /// KL(pi_old || pi_new) over the rollout after the update (`kl_penalty` only).
    public var postUpdateKL: Float?

    /// The per-step means under their metric names (`ppo/penalty_kl`: the post-update KL).
    public var means: [String: Double] {
        func avg(_ f: (PPOStepStats) -> Float) -> Double {
            steps.isEmpty ? 0 : steps.reduce(0) { $0 + Double(f($1)) } / Double(steps.count)
        }
        var m: [String: Double] = [
            "ppo/policy_loss": avg(\.policyLoss), "ppo/value_loss": avg(\.valueLoss), "ppo/clip_fraction": avg(\.clipFraction),
            "ppo/value_clip_fraction": avg(\.valueClipFraction), "ppo/approx_kl": avg(\.approxKL), "ppo/entropy": avg(\.entropy),
            "ppo/actor_grad_norm": avg(\.actorGradNorm), "ppo/critic_grad_norm": avg(\.criticGradNorm),
        ]
        if let d = postUpdateKL { m["ppo/penalty_kl"] = Double(d) }
        return m
    }
}
