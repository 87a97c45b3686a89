// Finite-difference checks (against plain Double references, GradCheck.swift) for every
// differentiable RLMath function; masks, old logprobs and advantages are captured constants.
import GradCheck
import Foundation
import RLMath
import TensorCore
import Testing

/// A ragged (3, 5) mask: lengths 5, 2, 1 and a hole in row 0.
let fdMask = try! Tensor(shape: [3, 5], data: [1, 1, 0, 1, 1,
                                               1, 1, 0, 0, 0,
                                               1, 0, 0, 0, 0])

/// Double reference of masked_mean.
func refMaskedMean(_ x: [Double], _ m: Tensor) -> Double {
    var s = 0.0, n = 0.0
    for i in 0..<x.count where m[flat: i] != 0 { s += x[i]; n += 1 }
    return s / n
}

func refKL(_ e: KLEstimator, _ r: Double) -> Double {
    switch e { case .k1: return r; case .k2: return 0.5 * r * r; case .k3: return Foundation.exp(-r) - 1 + r }
}

func refLogSigmoid(_ x: Double) -> Double { -Foundation.log(1 + Foundation.exp(-x)) }

@Suite struct GradientCheckTests {
    @Test func maskedMeanOfVariable() throws {
        try check(GradCase(name: "maskedMean", inputs: [rand([3, 5], seed: 1)],
                           ours: { try maskedMean($0[0], mask: fdMask) },
                           reference: { [refMaskedMean($0[0], fdMask)] }))
    }

    @Test(arguments: KLEstimator.allCases)
    func klEstimatorOfVariable(estimator: KLEstimator) throws {
        try check(GradCase(name: "KL \(estimator)", inputs: [rand([3, 5], seed: 2, lo: -2, hi: 2)],
                           ours: { estimator.estimate(logRatio: $0[0]) },
                           reference: { $0[0].map { refKL(estimator, $0) } }))
    }

    @Test func clippedPolicyLossGradient() throws {
        let old = rand([3, 5], seed: 3, lo: -3, hi: -0.5), adv = rand([3, 5], seed: 4, lo: -2, hi: 2)
        var new = old
        let d = rand([3, 5], seed: 5, lo: -0.4, hi: 0.4)
        for i in 0..<new.count { new[flat: i] += d[flat: i] }
        let eps = 0.2
        try check(GradCase(name: "clipped policy loss", inputs: [new],
                           ours: { try clippedPolicyLoss(logprobs: $0[0], oldLogprobs: old, advantages: adv, mask: fdMask, clipRange: Float(eps)).loss },
                           reference: { ins in
                               let terms = (0..<ins[0].count).map { i -> Double in
                                   let ratio = Foundation.exp(ins[0][i] - Double(old[flat: i])), a = Double(adv[flat: i])
                                   return min(ratio * a, min(max(ratio, 1 - eps), 1 + eps) * a)
                               }
                               return [-refMaskedMean(terms, fdMask)]
                           }))
    }

    @Test(arguments: KLEstimator.allCases)
    func klPenaltyPolicyLossGradient(estimator: KLEstimator) throws {
        let old = rand([3, 5], seed: 6, lo: -3, hi: -0.5), adv = rand([3, 5], seed: 7, lo: -2, hi: 2)
        let new = rand([3, 5], seed: 8, lo: -3, hi: -0.5)
        let beta = 0.7
        try check(GradCase(name: "KL-penalty policy loss \(estimator)", inputs: [new],
                           ours: { try klPenaltyPolicyLoss(logprobs: $0[0], oldLogprobs: old, advantages: adv, mask: fdMask,
                                                           beta: Float(beta), estimator: estimator).loss },
                           reference: { ins in
                               let terms = (0..<ins[0].count).map { i -> Double in
                                   let lr = ins[0][i] - Double(old[flat: i])
                                   return Foundation.exp(lr) * Double(adv[flat: i]) - beta * refKL(estimator, -lr)
                               }
                               return [-refMaskedMean(terms, fdMask)]
                           }))
    }

    @Test(arguments: [Float(0.2), nil])
    func valueLossGradient(clip: Float?) throws {
        let old = rand([3, 5], seed: 9), ret = rand([3, 5], seed: 10, lo: -1.5, hi: 1.5)
        var new = old
        let d = rand([3, 5], seed: 11, lo: -0.5, hi: 0.5)
        for i in 0..<new.count { new[flat: i] += d[flat: i] }
        try check(GradCase(name: "value loss clip \(String(describing: clip))", inputs: [new],
                           ours: { try valueLoss(values: $0[0], oldValues: old, returns: ret, mask: fdMask, clipRange: clip).loss },
                           reference: { ins in
                               let terms = (0..<ins[0].count).map { i -> Double in
                                   let v = ins[0][i], vo = Double(old[flat: i]), r = Double(ret[flat: i])
                                   guard let c = clip.map(Double.init) else { return (v - r) * (v - r) }
                                   let vc = min(max(v, vo - c), vo + c)
                                   return max((v - r) * (v - r), (vc - r) * (vc - r))
                               }
                               return [0.5 * refMaskedMean(terms, fdMask)]
                           }))
    }

    @Test func maskedEntropyGradient() throws {
        let v = 7
        try check(GradCase(name: "masked entropy", inputs: [rand([3, 5, v], seed: 12, lo: -3, hi: 3)],
                           ours: { try maskedEntropy(logits: $0[0], mask: fdMask) },
                           reference: { ins in
                               let h = stride(from: 0, to: ins[0].count, by: v).map { o -> Double in
                                   let row = Array(ins[0][o..<(o + v)])
                                   let m = row.max()!
                                   let lse = m + Foundation.log(row.map { Foundation.exp($0 - m) }.reduce(0, +))
                                   return -row.map { Foundation.exp($0 - lse) * ($0 - lse) }.reduce(0, +)
                               }
                               return [refMaskedMean(h, fdMask)]
                           }))
    }

    @Test(arguments: [false, true])
    func bradleyTerryGradient(withExtras: Bool) throws {
        let margin = rand([6], seed: 15, lo: 0, hi: 1)
        try check(GradCase(name: "Bradley-Terry extras=\(withExtras)", inputs: [rand([6], seed: 13, lo: -3, hi: 3), rand([6], seed: 14, lo: -3, hi: 3)],
                           ours: { try bradleyTerryLoss(chosen: $0[0], rejected: $0[1], margin: withExtras ? margin : nil,
                                                        centerCoefficient: withExtras ? 0.05 : nil).loss },
                           reference: { ins in
                               var l = 0.0, c = 0.0
                               for i in 0..<6 {
                                   l -= refLogSigmoid(ins[0][i] - ins[1][i] - (withExtras ? Double(margin[flat: i]) : 0))
                                   c += (ins[0][i] + ins[1][i]) * (ins[0][i] + ins[1][i])
                               }
                               return [l / 6 + (withExtras ? 0.05 * c / 6 : 0)]
                           }))
    }

    @Test(arguments: [Float(0), 0.2])
    func dpoGradient(labelSmoothing: Float) throws {
        let refC = rand([5], seed: 16, lo: -20, hi: -10), refR = rand([5], seed: 17, lo: -20, hi: -10)
        let beta = 0.3, s = Double(labelSmoothing)
        try check(GradCase(name: "DPO smoothing \(labelSmoothing)",
                           inputs: [rand([5], seed: 18, lo: -20, hi: -10), rand([5], seed: 19, lo: -20, hi: -10)],
                           ours: { try dpoLoss(policyChosen: $0[0], policyRejected: $0[1], refChosen: refC, refRejected: refR,
                                               beta: Float(beta), labelSmoothing: labelSmoothing).loss },
                           reference: { ins in
                               var l = 0.0
                               for i in 0..<5 {
                                   let h = beta * ((ins[0][i] - Double(refC[flat: i])) - (ins[1][i] - Double(refR[flat: i])))
                                   l += -(1 - s) * refLogSigmoid(h) - s * refLogSigmoid(-h)
                               }
                               return [l / 5]
                           }))
    }
}
