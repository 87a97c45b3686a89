// Pairwise preference losses on per-pair scalars (B,): the Bradley-Terry reward-model loss
// (docs/algorithms.md §3; TRL RewardTrainer, with its optional margin and reward centring)
// and the DPO family (Rafailov et al. 2023): sigmoid with label smoothing (conservative DPO),
// IPO (Azar et al. 2023) and hinge (SLiC), with or without a reference model.
// Leaves out: robust/BCO/KTO variants and length-normalised sigmoid DPO.
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

/// The DPO-family losses, by TRL's `loss_type` names.
public enum DPOLossType: Sendable, Equatable {
    /// L = -(1 - s) log sigmoid(beta h) - s log sigmoid(-beta h); s > 0 is conservative DPO.
    case sigmoid(labelSmoothing: Float)
    /// L = (h - 1 / (2 beta))² (Azar et al. 2023); pass length-averaged log-probs.
    case ipo
    /// L = relu(1 - beta h) (SLiC-HF, Zhao et al. 2023).
    case hinge
}

/// DPO, sigmoid loss with optional label smoothing (conservative DPO, TRL `loss_type="sigmoid"`):
///   h = beta * ((log pi(y_w) - log ref(y_w)) - (log pi(y_l) - log ref(y_l)))
///   L = mean(-(1 - s) log sigmoid(h) - s log sigmoid(-h))
/// accuracy and meanMargin are over the implicit rewards beta * (log pi - log ref).
/// - policyChosen, policyRejected: (B,) Σ_t log pi_theta over response tokens, differentiable;
///   refChosen, refRejected: (B,) the same sums under pi_ref.
public func dpoLoss(policyChosen: Variable, policyRejected: Variable, refChosen: Tensor, refRejected: Tensor,
                    beta: Float, labelSmoothing: Float = 0) throws(TensorError) -> PreferenceLossResult {
    try dpoLoss(.sigmoid(labelSmoothing: labelSmoothing), policyChosen: policyChosen, policyRejected: policyRejected,
                refChosen: refChosen, refRejected: refRejected, beta: beta)
}

/// Any DPO-family loss, with
///   h = (log pi(y_w) - log ref(y_w)) - (log pi(y_l) - log ref(y_l))
/// and log ref := 0 when `refChosen`/`refRejected` are nil (reference-free). The reported
/// implicit rewards are beta (log pi - log ref) for chosen and rejected; accuracy is the
/// fraction with chosen > rejected, meanMargin their mean difference.
/// - policyChosen, policyRejected: (B,) response log-probs (sums; means for IPO), differentiable;
///   refChosen, refRejected: (B,) the same under pi_ref, or nil.
public func dpoLoss(_ type: DPOLossType, policyChosen: Variable, policyRejected: Variable, refChosen: Tensor?, refRejected: Tensor?,
                    beta: Float) throws(TensorError) -> PreferenceLossResult {
    let op = "dpoLoss"
    guard policyChosen.rank == 1 else { throw .shapeMismatch(op: op, detail: "policyChosen must be (B,), got \(shapeString(policyChosen.shape))") }
    guard (refChosen == nil) == (refRejected == nil) else {
        throw .invalidArgument(op: op, detail: "give both reference log-probs or neither (reference-free)")
    }
    try Check.same(op, policyChosen.shape, [("policyRejected", policyRejected.shape)]
                   + (refChosen.map { [("refChosen", $0.shape)] } ?? []) + (refRejected.map { [("refRejected", $0.shape)] } ?? []))
    guard beta > 0 else { throw .invalidArgument(op: op, detail: "beta \(beta) must be > 0") }
    let chosen = try refChosen.map { r throws(TensorError) in try policyChosen - Variable(r) } ?? policyChosen       // (B,)
    let rejected = try refRejected.map { r throws(TensorError) in try policyRejected - Variable(r) } ?? policyRejected // (B,)
    let h = try chosen - rejected                                                                  // (B,)
    let perPair: Variable
    switch type {
    case let .sigmoid(s):
        guard s >= 0 && s < 0.5 else { throw .invalidArgument(op: op, detail: "label smoothing \(s) must be in [0, 0.5)") }
        let bh = h.scaled(by: beta)
        var l = bh.logSigmoid().scaled(by: -(1 - s))
        if s > 0 { l = try l - bh.negated().logSigmoid().scaled(by: s) }
        perPair = l
    case .ipo:
        perPair = h.shifted(by: -1 / (2 * beta)).squared()
    case .hinge:
        perPair = h.scaled(by: -beta).shifted(by: 1).relu()
    }
    let chosenReward = chosen.value.scaledValues(beta), rejectedReward = rejected.value.scaledValues(beta)
    return PreferenceLossResult(loss: perPair.mean(), accuracy: accuracy(chosenReward, rejectedReward),
                                meanMargin: meanDifference(chosenReward, rejectedReward))
}

extension Tensor {
    func scaledValues(_ s: Float) -> Tensor { Kernels.mapped(self) { $0 * s } }
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
