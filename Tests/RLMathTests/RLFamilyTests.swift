// The critic-free and offline formulas (GRPO, Dr. GRPO, RLOO, REINFORCE++, DAPO clipping, KL
// in the loss, loss aggregations, DPO / cDPO / IPO / hinge / reference-free) against PyTorch
// goldens written from the papers (Fixtures/rl_family_golden.json, made by
// Reference/make_rl_family_fixtures.py), and finite-difference checks of their gradients.
import Foundation
import GradCheck
import RLMath
import TensorCore
import Testing

nonisolated(unsafe) let family: [String: Any] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/rl_family_golden.json")
    return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
}()

func familySection(_ name: String) -> [String: Any] { family[name] as! [String: Any] }
var familyMask: Tensor {
    var m = Tensor(zeros: [B, A])
    for (r, n) in (family["lengths"] as! [Int]).enumerated() { for j in 0..<n { m[flat: r * A + j] = 1 } }
    return m
}

func aggregation(_ c: [String: Any]) -> LossAggregation {
    switch c["aggregation"] as! String {
    case "token_mean": return .tokenMean
    case "sequence_mean": return .sequenceMean
    default: return .constant(normalizer: number(c["normalizer"]))
    }
}

@Suite struct RLFamilyGoldenTests {
    @Test func grpoAndRLOOAdvantages() throws {
        let s = familySection("group"), scores = floats(s["scores"]), g = s["group_size"] as! Int
        let grpo = s["grpo"] as! [String: Any]
        for scale in GroupScale.allCases {
            expectValues(try grpoAdvantages(scores: scores, groupSize: g, scale: scale), floats(grpo[scale.rawValue]), "GRPO \(scale)")
        }
        expectValues(try rlooAdvantages(scores: scores, groupSize: g), floats(s["rloo"]), "RLOO")
        #expect(throws: TensorError.self) { try rlooAdvantages(scores: [1, 2, 3], groupSize: 2) }
        #expect(throws: TensorError.self) { try rlooAdvantages(scores: [1, 2], groupSize: 1) }
    }

    @Test func reinforcePlusPlus() throws {
        let s = familySection("reinforce_pp")
        let adv = try reinforcePlusPlusAdvantages(rewards: tensor(s["rewards"], [B, A]), mask: familyMask)
        expectValues(adv.scalars, floats(s["advantages"]), "REINFORCE++ advantages")
        expectValues(try centredScores(floats(s["scores"]), groupSize: family["G"] as! Int), floats(s["centred"]), "group-centred scores")
    }

    @Test(arguments: 0..<4)
    func clippedSurrogateVariants(index: Int) throws {
        let s = familySection("policy"), c = (s["cases"] as! [[String: Any]])[index]
        let logprobs = Variable(tensor(s["new"], [B, A]), requiresGrad: true)
        let kl = optionalNumber(c["beta"]).map { KLInLoss(beta: $0, refLogprobs: tensor(s["ref"], [B, A])) }
        let tape = Tape()
        let out = try tape.record {
            try clippedPolicyLoss(logprobs: logprobs, oldLogprobs: tensor(s["old"], [B, A]), advantages: tensor(s["advantages"], [B, A]),
                                  mask: familyMask, clipLow: number(c["clip_low"]), clipHigh: number(c["clip_high"]),
                                  aggregation: aggregation(c), klInLoss: kl)
        }
        try tape.backward(out.loss)
        let what = "\(c["aggregation"]!) clip [\(c["clip_low"]!), \(c["clip_high"]!)] beta \(c["beta"] ?? "none")"
        expectValue(out.loss.value.item, number(c["loss"]), what)
        expectGradient(logprobs.grad, floats(c["grad"]), "\(what) gradient")
        expectValue(out.clipFraction, number(c["clip_fraction"]), "\(what) clip fraction")
        expectValue(out.approxKL, number(c["approx_kl"]), "\(what) approx KL")
        if let r = optionalNumber(c["reference_kl"]) { expectValue(out.penaltyKL, r, "\(what) reference KL") }
    }

    @Test(arguments: 0..<5)
    func dpoFamily(index: Int) throws {
        let s = familySection("dpo"), c = (s["cases"] as! [[String: Any]])[index]
        let type: DPOLossType
        var scale: Float = 1
        switch c["type"] as! String {
        case "sigmoid": type = .sigmoid(labelSmoothing: number(c["label_smoothing"]))
        case "ipo": type = .ipo; scale = 1 / 8
        default: type = .hinge
        }
        func input(_ k: String) -> Tensor { try! Tensor(shape: [6], data: floats(s[k]).map { $0 * scale }) }
        let free = c["reference_free"] as! Bool
        let pc = Variable(input("policy_chosen"), requiresGrad: true), pr = Variable(input("policy_rejected"), requiresGrad: true)
        let tape = Tape()
        let out = try tape.record {
            try dpoLoss(type, policyChosen: pc, policyRejected: pr, refChosen: free ? nil : input("ref_chosen"),
                        refRejected: free ? nil : input("ref_rejected"), beta: number(c["beta"]))
        }
        try tape.backward(out.loss)
        let what = "\(c["type"]!) ls \(c["label_smoothing"]!) free \(free)"
        expectValue(out.loss.value.item, number(c["loss"]), what)
        expectGradient(pc.grad, floats(c["grad_chosen"]), "\(what) d/d chosen")
        expectGradient(pr.grad, floats(c["grad_rejected"]), "\(what) d/d rejected")
        expectValue(out.accuracy, number(c["accuracy"]), "\(what) accuracy")
        expectValue(out.meanMargin, number(c["margin"]), "\(what) margin")
    }
}

@Suite struct RLFamilyGradientTests {
    @Test(arguments: [LossAggregation.tokenMean, .sequenceMean, .constant(normalizer: 10)])
    func clippedSurrogateWithKLInTheLoss(aggregation: LossAggregation) throws {
        let old = rand([3, 5], seed: 31, lo: -3, hi: -0.5), adv = rand([3, 5], seed: 32, lo: -2, hi: 2)
        let ref = rand([3, 5], seed: 33, lo: -3, hi: -0.5)
        var new = old
        let d = rand([3, 5], seed: 34, lo: -0.4, hi: 0.4)
        for i in 0..<new.count { new[flat: i] += d[flat: i] }
        let (low, high, beta) = (0.2, 0.28, 0.04)
        let w = try aggregation.weights(mask: fdMask)
        try check(GradCase(name: "DAPO clip + k3 in the loss, \(aggregation)", inputs: [new],
                           ours: { try clippedPolicyLoss(logprobs: $0[0], oldLogprobs: old, advantages: adv, mask: fdMask,
                                                         clipLow: Float(low), clipHigh: Float(high), aggregation: aggregation,
                                                         klInLoss: KLInLoss(beta: Float(beta), refLogprobs: ref)).loss },
                           reference: { ins in
                               var total = 0.0
                               for i in 0..<ins[0].count {
                                   let ratio = Foundation.exp(ins[0][i] - Double(old[flat: i])), a = Double(adv[flat: i])
                                   let l = -min(ratio * a, min(max(ratio, 1 - low), 1 + high) * a)
                                       + beta * refKL(.k3, ins[0][i] - Double(ref[flat: i]))
                                   total += Double(w[flat: i]) * l
                               }
                               return [total]
                           }))
    }

    @Test func aggregationWeights() throws {
        // fdMask rows have 4, 2 and 1 valid tokens (7 in all).
        let token = try LossAggregation.tokenMean.weights(mask: fdMask).scalars
        let seq = try LossAggregation.sequenceMean.weights(mask: fdMask).scalars
        let const = try LossAggregation.constant(normalizer: 10).weights(mask: fdMask).scalars
        #expect(token[0] == 1 / 7 && token[2] == 0)
        #expect(abs(seq[0] - 1.0 / 12) < 1e-7 && abs(seq[5] - 1.0 / 6) < 1e-7 && abs(seq[10] - 1.0 / 3) < 1e-7)
        #expect(const[0] == 0.1 && const[2] == 0)
    }

    @Test(arguments: [DPOLossType.sigmoid(labelSmoothing: 0), .sigmoid(labelSmoothing: 0.2), .ipo, .hinge])
    func dpoFamilyGradient(type: DPOLossType) throws {
        let rc = rand([5], seed: 41, lo: -3, hi: -1), rr = rand([5], seed: 42, lo: -3, hi: -1)
        let beta = 0.5
        try check(GradCase(name: "\(type)", inputs: [rand([5], seed: 43, lo: -4, hi: 0), rand([5], seed: 44, lo: -4, hi: 0)],
                           ours: { try dpoLoss(type, policyChosen: $0[0], policyRejected: $0[1], refChosen: rc, refRejected: rr,
                                               beta: Float(beta)).loss },
                           reference: { ins in
                               var total = 0.0
                               for i in 0..<5 {
                                   let h = (ins[0][i] - Double(rc[flat: i])) - (ins[1][i] - Double(rr[flat: i]))
                                   switch type {
                                   case let .sigmoid(s):
                                       total += -(1 - Double(s)) * refLogSigmoid(beta * h) - Double(s) * refLogSigmoid(-beta * h)
                                   case .ipo: total += (h - 1 / (2 * beta)) * (h - 1 / (2 * beta))
                                   case .hinge: total += max(0, 1 - beta * h)
                                   }
                               }
                               return [total / 5]
                           }))
    }
}
