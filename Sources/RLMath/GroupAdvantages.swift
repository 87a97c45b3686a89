// Critic-free advantages from G sampled responses per prompt, one score each: GRPO's group
// normalisation (Shao et al. 2024, DeepSeekMath; Dr. GRPO's unscaled variant, Liu et al.
// 2025) and RLOO's leave-one-out baseline (Ahmadian et al. 2024). Rows are grouped
// consecutively: rows g*G ..< (g+1)*G answer the same prompt. Every action token of a
// response gets its sequence advantage (`perToken`). docs/algorithms.md §7.
// Leaves out: process (per-step) rewards.
import TensorCore

/// How GRPO scales the centred scores (TRL `scale_rewards`).
public enum GroupScale: String, Sendable, Codable, CaseIterable {
    /// Divide by the group's standard deviation (GRPO).
    case group
    /// Divide by the standard deviation of the whole batch.
    case batch
    /// No division (Dr. GRPO): the advantage is the centred score.
    case none
}

/// GRPO: A_i = (r_i - mean_{j in g} r_j) / (std + eps), std per `scale` (sample std, as
/// torch.std and TRL). - scores: (B,) with B = groups * groupSize -> (B,).
public func grpoAdvantages(scores: [Float], groupSize g: Int, scale: GroupScale = .group,
                           eps: Float = 1e-4) throws(TensorError) -> [Float] {
    try checkGroups("grpoAdvantages", scores.count, g)
    var out = [Float](repeating: 0, count: scores.count)
    for start in stride(from: 0, to: scores.count, by: g) {
        let group = scores[start..<(start + g)].map(Double.init)
        let mu = group.reduce(0, +) / Double(g)
        for (k, x) in group.enumerated() { out[start + k] = Float(x - mu) }
        if scale == .group { divide(&out[start..<(start + g)], by: sampleStd(group) + Double(eps)) }
    }
    if scale == .batch { divide(&out[...], by: sampleStd(scores.map(Double.init)) + Double(eps)) }
    return out
}

/// RLOO: A_i = r_i - (1 / (G - 1)) Σ_{j != i, j in g} r_j.  - scores: (B,) -> (B,).
public func rlooAdvantages(scores: [Float], groupSize g: Int) throws(TensorError) -> [Float] {
    try checkGroups("rlooAdvantages", scores.count, g)
    guard g >= 2 else { throw .invalidArgument(op: "rlooAdvantages", detail: "a leave-one-out baseline needs G >= 2, got \(g)") }
    var out = [Float](repeating: 0, count: scores.count)
    for start in stride(from: 0, to: scores.count, by: g) {
        let total = scores[start..<(start + g)].reduce(0.0) { $0 + Double($1) }
        for i in start..<(start + g) { out[i] = Float(Double(scores[i]) - (total - Double(scores[i])) / Double(g - 1)) }
    }
    return out
}

/// Each row's sequence value on its valid action tokens: (B,) -> (B, A), 0 where mask == 0.
public func perToken(_ perSequence: [Float], mask: Tensor) throws(TensorError) -> Tensor {
    guard mask.rank == 2, mask.shape[0] == perSequence.count else {
        throw .shapeMismatch(op: "perToken", detail: "mask \(shapeString(mask.shape)) for \(perSequence.count) sequences")
    }
    let a = mask.shape[1]
    var out = Tensor(zeros: mask.shape)
    for r in 0..<perSequence.count { for j in 0..<a where mask[flat: r * a + j] != 0 { out[flat: r * a + j] = perSequence[r] } }
    return out
}

func checkGroups(_ op: String, _ n: Int, _ g: Int) throws(TensorError) {
    guard g >= 1, n > 0, n % g == 0 else {
        throw .invalidArgument(op: op, detail: "\(n) scores do not split into groups of \(g)")
    }
}

func sampleStd(_ x: [Double]) -> Double {
    guard x.count > 1 else { return 0 }
    let mu = x.reduce(0, +) / Double(x.count)
    return (x.reduce(0) { $0 + ($1 - mu) * ($1 - mu) } / Double(x.count - 1)).squareRoot()
}

func divide(_ x: inout ArraySlice<Float>, by d: Double) {
    for i in x.indices { x[i] = Float(Double(x[i]) / d) }
}
