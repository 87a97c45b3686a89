// Several reward sources scored together (TRL's reward_funcs with reward_weights): the
// sequence score is the weighted sum of each source's score. Each source's batch mean is kept
// for the metrics (`ppo/reward_<i>`, in config order). Leaves out per-source normalisation (apply
// normalize_reward to the sum).

public final class WeightedRewards: RewardSource {
    public let sources: [(source: RewardSource, weight: Float)]
    /// Each source's mean score over the last batch, in source order.
    public private(set) var lastMeans: [(name: String, mean: Double)] = []

    public init(_ sources: [(RewardSource, Float)]) {
        self.sources = sources.map { (source: $0.0, weight: $0.1) }
    }

    public var name: String { sources.map { "\($0.weight) x \($0.source.name)" }.joined(separator: " + ") }

    public func scores(_ batch: RewardBatch) throws -> [Float] {
        var total = [Float](repeating: 0, count: batch.responses.count)
        lastMeans = []
        for (source, weight) in sources {
            let s = try source.scores(batch)
            guard s.count == total.count, s.allSatisfy(\.isFinite) else {
                throw RewardError(message: "reward \(source.name) returned \(s.count) scores for \(total.count) responses (finite numbers required)")
            }
            for i in total.indices { total[i] += weight * s[i] }
            lastMeans.append((source.name, s.isEmpty ? 0 : Double(s.reduce(0, +)) / Double(s.count)))
        }
        return total
    }
}
