// Every RLMath formula against PyTorch goldens (Fixtures/rlmath_golden.json, written by
// Reference/make_rlmath_fixtures.py): ragged masks with a full row, rows ending early and a
// single-token row; garbage in masked slots. Loss values and their gradients.
import Foundation
import RLMath
import TensorCore
import Testing

@Suite struct GoldenTests {
    @Test func maskedStatistics() throws {
        let s = section("stats"), x = tensor(s["x"], [B, A]), m = goldenMask
        expectValue(try maskedSum(x, mask: m), number(s["sum"]), "sum")
        expectValue(try maskedMean(x, mask: m), number(s["mean"]), "mean")
        expectValues(try maskedRowSums(x, mask: m).scalars, floats(s["row_sums"]), "row sums")
        expectValues(try maskedRowMeans(x, mask: m).scalars, floats(s["row_means"]), "row means")
        expectValue(try maskedVariance(x, mask: m), number(s["var_unbiased"]), "unbiased var")
        expectValue(try maskedVariance(x, mask: m, unbiased: false), number(s["var_biased"]), "biased var")
        expectValues(try whiten(x, mask: m).scalars, floats(s["whiten"]), "whiten")
        expectValues(try whiten(x, mask: m, shiftMean: false).scalars, floats(s["whiten_no_shift"]), "whiten, no shift")
    }

    @Test(arguments: KLEstimator.allCases)
    func klEstimators(estimator: KLEstimator) throws {
        let s = section("kl"), r = tensor(s["log_ratio"], [3, 5])
        expectValues(estimator.estimate(logRatio: r).scalars, floats(s[estimator.rawValue]), "\(estimator) on Tensor")
        expectValues(estimator.estimate(logRatio: Variable(r)).value.scalars, floats(s[estimator.rawValue]), "\(estimator) on Variable")
    }

    @Test(arguments: 0..<3)
    func tokenRewardsMatchTorch(index: Int) throws {
        let s = section("rewards"), c = cases(s)[index]
        let estimator = KLEstimator(rawValue: c["estimator"] as! String)!
        let out = try tokenRewards(scores: tensor(s["scores"], [B]), oldLogprobs: tensor(s["old"], [B, A]),
                                   refLogprobs: tensor(s["ref"], [B, A]), mask: goldenMask,
                                   beta: number(c["beta"]), estimator: estimator,
                                   endsWithEOS: s["ends_with_eos"] as? [Bool],
                                   shaping: ScoreShaping(missingEOSPenalty: optionalNumber(c["missing_eos_penalty"]),
                                                         clip: optionalNumber(c["clip"])))
        expectValues(out.rewards.scalars, floats(c["rewards"]), "rewards \(estimator)")
        expectValues(out.kl.scalars, floats(c["kl"]), "kl \(estimator)")
        expectValues(out.klSum.scalars, floats(c["kl_sum"]), "kl sum \(estimator)")
        expectValues(out.scores.scalars, floats(c["scores"]), "shaped scores \(estimator)")
    }

    @Test(arguments: 0..<3)
    func gaeMatchesTorch(index: Int) throws {
        let s = section("gae"), c = cases(s)[index]
        let out = try generalizedAdvantages(rewards: tensor(s["rewards"], [B, A]), values: tensor(s["values"], [B, A]),
                                            mask: goldenMask, gamma: number(c["gamma"]), lambda: number(c["lambda"]))
        expectValues(out.advantages.scalars, floats(c["advantages"]), "advantages gamma \(c["gamma"]!) lambda \(c["lambda"]!)")
        expectValues(out.returns.scalars, floats(c["returns"]), "returns")
    }

    @Test func clippedPolicyLossMatchesTorch() throws {
        let s = section("policy_clip")
        let logprobs = Variable(tensor(s["new"], [B, A]), requiresGrad: true)
        let tape = Tape()
        let out = try tape.record {
            try clippedPolicyLoss(logprobs: logprobs, oldLogprobs: tensor(s["old"], [B, A]),
                                  advantages: tensor(s["advantages"], [B, A]), mask: goldenMask, clipRange: number(s["eps"]))
        }
        expectValue(out.loss.value.item, number(s["loss"]), "loss")
        expectValue(out.clipFraction, number(s["clip_fraction"]), "clip fraction")
        expectValue(out.approxKL, number(s["approx_kl"]), "approx KL")
        try tape.backward(out.loss)
        expectGradient(logprobs.grad, floats(s["grad"]), "d loss / d logprobs")
    }

    @Test(arguments: 0..<3)
    func klPenaltyPolicyLossMatchesTorch(index: Int) throws {
        let p = section("policy_clip"), c = (golden["policy_kl_penalty"] as! [[String: Any]])[index]
        let estimator = KLEstimator(rawValue: c["estimator"] as! String)!
        let logprobs = Variable(tensor(p["new"], [B, A]), requiresGrad: true)
        let tape = Tape()
        let out = try tape.record {
            try policyLoss(.klPenalty(beta: number(c["beta"]), estimator: estimator), logprobs: logprobs,
                           oldLogprobs: tensor(p["old"], [B, A]), advantages: tensor(p["advantages"], [B, A]), mask: goldenMask)
        }
        expectValue(out.loss.value.item, number(c["loss"]), "loss \(estimator)")
        expectValue(out.penaltyKL, number(c["penalty_kl"]), "penalty KL \(estimator)")
        expectValue(out.approxKL, number(p["approx_kl"]), "approx KL")
        try tape.backward(out.loss)
        expectGradient(logprobs.grad, floats(c["grad"]), "d loss / d logprobs \(estimator)")
    }

    @Test(arguments: 0..<2)
    func valueLossMatchesTorch(index: Int) throws {
        let s = section("value"), c = cases(s)[index]
        let values = Variable(tensor(s["new"], [B, A]), requiresGrad: true)
        let tape = Tape()
        let out = try tape.record {
            try valueLoss(values: values, oldValues: tensor(s["old"], [B, A]), returns: tensor(s["returns"], [B, A]),
                          mask: goldenMask, clipRange: optionalNumber(c["clip"]))
        }
        expectValue(out.loss.value.item, number(c["loss"]), "value loss clip \(String(describing: c["clip"]))")
        expectValue(out.clipFraction, number(c["clip_fraction"]), "value clip fraction")
        try tape.backward(out.loss)
        expectGradient(values.grad, floats(c["grad"]), "d loss / d values")
    }

    @Test func entropyMatchesTorch() throws {
        let s = section("entropy")
        let logits = Variable(tensor(s["logits"], [B, A, V]), requiresGrad: true)
        expectValues(try softmaxEntropy(logits: logits).value.scalars, floats(s["per_token"]), "per-token entropy")
        let tape = Tape()
        let loss = try tape.record { try maskedEntropy(logits: logits, mask: goldenMask) }
        expectValue(loss.value.item, number(s["loss"]), "masked mean entropy")
        try tape.backward(loss)
        expectGradient(logits.grad, floats(s["grad"]), "d entropy / d logits")
    }

    @Test(arguments: 0..<3)
    func bradleyTerryMatchesTorch(index: Int) throws {
        let s = section("bradley_terry"), c = cases(s)[index]
        let p = floats(s["chosen"]).count
        let chosen = Variable(tensor(s["chosen"], [p]), requiresGrad: true)
        let rejected = Variable(tensor(s["rejected"], [p]), requiresGrad: true)
        let tape = Tape()
        let out = try tape.record {
            try bradleyTerryLoss(chosen: chosen, rejected: rejected, margin: (c["margin"] as! Bool) ? tensor(s["margin"], [p]) : nil,
                                 centerCoefficient: optionalNumber(c["center"]))
        }
        expectValue(out.loss.value.item, number(c["loss"]), "BT loss case \(index)")
        expectValue(out.accuracy, number(s["accuracy"]), "accuracy")
        expectValue(out.meanMargin, number(s["mean_margin"]), "mean margin")
        try tape.backward(out.loss)
        expectGradient(chosen.grad, floats(c["grad_chosen"]), "d / d chosen")
        expectGradient(rejected.grad, floats(c["grad_rejected"]), "d / d rejected")
    }

    @Test(arguments: 0..<2)
    func dpoMatchesTorch(index: Int) throws {
        let s = section("dpo"), c = cases(s)[index]
        let p = floats(s["policy_chosen"]).count
        let chosen = Variable(tensor(s["policy_chosen"], [p]), requiresGrad: true)
        let rejected = Variable(tensor(s["policy_rejected"], [p]), requiresGrad: true)
        let tape = Tape()
        let out = try tape.record {
            try dpoLoss(policyChosen: chosen, policyRejected: rejected, refChosen: tensor(s["ref_chosen"], [p]),
                        refRejected: tensor(s["ref_rejected"], [p]), beta: number(c["beta"]), labelSmoothing: number(c["label_smoothing"]))
        }
        expectValue(out.loss.value.item, number(c["loss"]), "DPO loss case \(index)")
        expectValue(out.accuracy, number(c["accuracy"]), "accuracy")
        expectValue(out.meanMargin, number(c["mean_margin"]), "mean margin")
        try tape.backward(out.loss)
        expectGradient(chosen.grad, floats(c["grad_chosen"]), "d / d chosen")
        expectGradient(rejected.grad, floats(c["grad_rejected"]), "d / d rejected")
    }

    @Test func adaptiveKLControllerMatchesTRL() {
        let s = section("kl_controller")
        var ctl = KLController(initialBeta: number(s["init"]), target: number(s["target"]), horizon: number(s["horizon"]))
        let n = (s["n_steps"] as! NSNumber).intValue
        var betas: [Float] = []
        for kl in floats(s["kls"]) { ctl.update(currentKL: kl, nSteps: n); betas.append(ctl.beta) }
        expectValues(betas, floats(s["betas"]), "adaptive beta sequence")
    }

    @Test func runningMomentsMatchTRL() {
        let s = section("running_moments")
        var rm = RunningMoments()
        for (batch, state) in zip(s["batches"] as! [Any], s["states"] as! [[String: Any]]) {
            let (bm, bs) = rm.update(floats(batch))
            expectValue(Float(bm), number(state["batch_mean"]), "batch mean")
            expectValue(Float(bs), number(state["batch_std"]), "batch std")
            expectValue(Float(rm.mean), number(state["mean"]), "running mean")
            expectValue(Float(rm.variance), number(state["var"]), "running var")
            expectValue(Float(rm.std), number(state["std"]), "running std")
            expectValue(Float(rm.count), number(state["count"]), "count")
        }
        // Merged moments equal the moments of everything at once.
        expectValue(Float(rm.mean), number(s["all_mean"]), "mean of all")
        expectValue(Float(rm.std), number(s["all_std"]), "std of all")
    }

    @Test func explainedVarianceMatchesTorch() throws {
        let s = section("explained_variance")
        let ev = try explainedVariance(values: tensor(s["values"], [B, A]), returns: tensor(s["returns"], [B, A]), mask: goldenMask)
        expectValue(ev, number(s["ev"]), "explained variance")
    }
}
