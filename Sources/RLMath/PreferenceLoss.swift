// Pairwise preference losses on per-pair scalars (B,): the Bradley-Terry reward-model loss
// (SPEC 1.2; TRL RewardTrainer, with its optional margin and reward centring) and the DPO
// sigmoid loss (Rafailov et al. 2023), both through a stable log-sigmoid (softplus).
// Leaves out: IPO/hinge/robust DPO variants, reference-free DPO.
import TensorCore

/// A preference loss and the statistics reward-model / DPO training logs.
public struct PreferenceLossResult {
    /// Scalar loss to minimise.
    public var loss: Variable
    /// Fraction of pairs with chosen reward strictly above rejected reward.
    public var accuracy: Float
    /// mean(r_c - r_r) (without any margin term).
    public var meanMargin: Float
}

/// Bradley-Terry (Ouyang et al. 2022; TRL RewardTrainer):
///   L = -mean log sigmoid(r_c - r_r - m)  [+ c * mean((r_c + r_r)²)]
/// with m the optional per-pair margin and c TRL's `center_rewards_coefficient`
/// (Eisenstein et al. 2023), which pulls rewards toward zero mean.
/// - chosen: (B,) r(x, y_w); rejected: (B,) r(x, y_l), differentiable; margin: (B,) or nil.
public func bradleyTerryLoss(chosen: Variable, rejected: Variable, margin: Tensor? = nil,
                             centerCoefficient: Float? = nil) throws(TensorError) -> PreferenceLossResult {
    let op = "bradleyTerryLoss"
    guard chosen.rank == 1 else { throw .shapeMismatch(op: op, detail: "chosen must be (B,), got \(shapeString(chosen.shape))") }
    try Check.same(op, chosen.shape, [("rejected", rejected.shape)] + (margin.map { [("margin", $0.shape)] } ?? []))
    var diff = try chosen - rejected                                        // (B,) r_c - r_r
    if let margin { diff = try diff - Variable(margin) }
    var loss = diff.logSigmoid().mean().negated()
    if let c = centerCoefficient {
        loss = try loss + (chosen + rejected).squared().mean().scaled(by: c)
    }
    return PreferenceLossResult(loss: loss, accuracy: accuracy(chosen.value, rejected.value),
                                meanMargin: meanDifference(chosen.value, rejected.value))
}

/// DPO, sigmoid loss with optional label smoothing (conservative DPO, TRL `loss_type="sigmoid"`):
///   h = beta * ((log pi(y_w) - log ref(y_w)) - (log pi(y_l) - log ref(y_l)))
///   L = mean(-(1 - s) log sigmoid(h) - s log sigmoid(-h))
/// accuracy and meanMargin are over the implicit rewards beta * (log pi - log ref).
/// - policyChosen, policyRejected: (B,) Σ_t log pi_theta over response tokens, differentiable;
///   refChosen, refRejected: (B,) the same sums under pi_ref.
public func dpoLoss(policyChosen: Variable, policyRejected: Variable, refChosen: Tensor, refRejected: Tensor,
                    beta: Float, labelSmoothing: Float = 0) throws(TensorError) -> PreferenceLossResult {
    let op = "dpoLoss"
    guard policyChosen.rank == 1 else { throw .shapeMismatch(op: op, detail: "policyChosen must be (B,), got \(shapeString(policyChosen.shape))") }
    try Check.same(op, policyChosen.shape, [("policyRejected", policyRejected.shape), ("refChosen", refChosen.shape), ("refRejected", refRejected.shape)])
    guard labelSmoothing >= 0 && labelSmoothing < 0.5 else {
        throw .invalidArgument(op: op, detail: "label smoothing \(labelSmoothing) must be in [0, 0.5)")
    }
    let chosenReward = try (policyChosen - Variable(refChosen)).scaled(by: beta)       // (B,)
    let rejectedReward = try (policyRejected - Variable(refRejected)).scaled(by: beta) // (B,)
    let h = try chosenReward - rejectedReward                                           // (B,)
    var perPair = h.logSigmoid().scaled(by: -(1 - labelSmoothing))
    if labelSmoothing > 0 { perPair = try perPair - h.negated().logSigmoid().scaled(by: labelSmoothing) }
    return PreferenceLossResult(loss: perPair.mean(), accuracy: accuracy(chosenReward.value, rejectedReward.value),
                                meanMargin: meanDifference(chosenReward.value, rejectedReward.value))
}

private func accuracy(_ c: Tensor, _ r: Tensor) -> Float {
    var n = 0
    for i in 0..<c.count where c[flat: i] > r[flat: i] { n += 1 }
    return Float(n) / Float(max(c.count, 1))
}

private func meanDifference(_ c: Tensor, _ r: Tensor) -> Float {
    var s = 0.0
    for i in 0..<c.count { s += Double(c[flat: i]) - Double(r[flat: i]) }
    return Float(s / Double(max(c.count, 1)))
}
