// Cases whose expected numbers follow by hand from the formulas: GAE with gamma = lambda = 1
// is reward-to-go minus value, holes are skipped, whitening gives mean 0 / std 1, estimators
// vanish at r = 0, ratio 1 gives -mean(A); plus controllers, Codable state and bad inputs.
import Foundation
import RLMath
import TensorCore
import Testing

func t(_ rows: [[Float]]) -> Tensor { try! Tensor(shape: [rows.count, rows[0].count], data: rows.flatMap { $0 }) }

@Suite struct HandDerivedTests {
    @Test func gaeWithGammaLambdaOneIsRewardToGoMinusValue() throws {
        let r = t([[1, 2, 3, 9], [0.5, -1, 7, 7]]), v = t([[0.1, 0.2, 0.3, 9], [1, 2, 5, 5]])
        let m = t([[1, 1, 1, 0], [1, 1, 0, 0]])
        let out = try generalizedAdvantages(rewards: r, values: v, mask: m, gamma: 1, lambda: 1)
        // Row 0: reward-to-go 6, 5, 3; row 1: -0.5, -1. Padding (9s, 7s, 5s) never enters.
        expectValues(out.returns.scalars, [6, 5, 3, 0, -0.5, -1, 0, 0], "returns")
        expectValues(out.advantages.scalars, [5.9, 4.8, 2.7, 0, -1.5, -3, 0, 0], "advantages")
    }

    @Test func gaeWithLambdaZeroIsOneStepTD() throws {
        let r = t([[1, 2, 3]]), v = t([[0.5, -1, 2]]), m = t([[1, 1, 1]])
        let out = try generalizedAdvantages(rewards: r, values: v, mask: m, gamma: 0.9, lambda: 0)
        // delta_t = r_t + 0.9 V_{t+1} - V_t, V_3 = 0.
        expectValues(out.advantages.scalars, [1 + 0.9 * -1 - 0.5, 2 + 0.9 * 2 + 1, 3 - 2], "TD(0) advantages")
    }

    @Test func gaeSkipsHolesAsIfCompacted() throws {
        let holey = try generalizedAdvantages(rewards: t([[1, 99, 2, 99, 3, 99]]), values: t([[0.3, 50, -0.2, 50, 0.7, 50]]),
                                              mask: t([[1, 0, 1, 0, 1, 0]]), gamma: 0.95, lambda: 0.9)
        let dense = try generalizedAdvantages(rewards: t([[1, 2, 3]]), values: t([[0.3, -0.2, 0.7]]),
                                              mask: t([[1, 1, 1]]), gamma: 0.95, lambda: 0.9)
        let a = holey.advantages.scalars, d = dense.advantages.scalars
        expectValues([a[0], a[2], a[4]], d, "advantages on valid tokens")
        expectValues([a[1], a[3], a[5]], [0, 0, 0], "zeros on holes")
    }

    @Test func whiteningGivesMeanZeroStdOneOnValidTokens() throws {
        let x = t([[3, -1, 4, 1000], [1, 5, -1000, -1000]]), m = t([[1, 1, 1, 0], [1, 1, 0, 0]])
        let w = try whiten(x, mask: m)
        let valid = [0, 1, 2, 4, 5].map { w[flat: $0] }
        let mean = valid.reduce(0, +) / 5
        let sampleVar = valid.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 4
        #expect(abs(mean) < 1e-6)
        #expect(abs(sampleVar - 1) < 1e-5)
        expectValues([w[flat: 3], w[flat: 6], w[flat: 7]], [0, 0, 0], "masked entries are zero")
    }

    @Test func varianceNeedsEnoughValidEntries() {
        let x = t([[1, 2]]), one = t([[1, 0]])
        #expect(throws: TensorError.self) { try maskedVariance(x, mask: one) }
        #expect(throws: TensorError.self) { try maskedMean(x, mask: t([[0, 0]])) }
        #expect((try? maskedVariance(x, mask: one, unbiased: false)) == 0)
    }

    @Test func estimatorsVanishAtZeroAndKeepTheirSigns() {
        for e in KLEstimator.allCases { #expect(e(0) == 0, "\(e) at r = 0") }
        for r: Float in [-3, -0.5, 0.25, 2] {
            #expect(KLEstimator.k2(r) >= 0)
            #expect(KLEstimator.k3(r) >= 0)
        }
        #expect(abs(KLEstimator.k3(1) - (Float(Foundation.exp(-1.0)) - 1 + 1)) < 1e-7)
    }

    @Test func scoreLandsOnTheLastValidTokenEvenAfterAHole() throws {
        let zero = Tensor(zeros: [2, 4])
        let out = try tokenRewards(scores: try Tensor(shape: [2], data: [5, -2]), oldLogprobs: zero, refLogprobs: zero,
                                   mask: t([[1, 0, 1, 0], [1, 0, 0, 0]]), beta: 0.1)
        expectValues(out.rewards.scalars, [0, 0, 5, 0, -2, 0, 0, 0], "rewards")
    }

    @Test func rewardsRejectRowsWithoutActionsAndPenaltyWithoutEOSFlags() {
        let zero = Tensor(zeros: [2, 3]), s = Tensor(zeros: [2])
        #expect(throws: TensorError.self) {
            try tokenRewards(scores: s, oldLogprobs: zero, refLogprobs: zero, mask: t([[1, 1, 0], [0, 0, 0]]), beta: 0.1)
        }
        #expect(throws: TensorError.self) {
            try tokenRewards(scores: s, oldLogprobs: zero, refLogprobs: zero, mask: t([[1, 1, 0], [1, 0, 0]]), beta: 0.1,
                             shaping: ScoreShaping(missingEOSPenalty: 1))
        }
        do {
            _ = try tokenRewards(scores: s, oldLogprobs: zero, refLogprobs: Tensor(zeros: [2, 4]), mask: zero, beta: 0.1)
            Issue.record("expected a shape error")
        } catch { #expect("\(error)".contains("refLogprobs")) }
    }

    @Test func ratioOneGivesMinusMeanAdvantage() throws {
        let lp = Variable(t([[-1, -2, -3], [-0.5, -0.7, -9]]), requiresGrad: true)
        let adv = t([[1, -2, 4], [3, 0, 100]]), m = t([[1, 1, 1], [1, 1, 0]])
        let tape = Tape()
        let out = try tape.record { try clippedPolicyLoss(logprobs: lp, oldLogprobs: lp.value, advantages: adv, mask: m, clipRange: 0.2) }
        expectValue(out.loss.value.item, -6 / 5, "loss")
        #expect(out.clipFraction == 0)
        #expect(out.approxKL == 0)
        try tape.backward(out.loss)
        // d/d logp of -ratio A / n at ratio 1 is -A / n.
        expectValues(lp.grad!.scalars, [-0.2, 0.4, -0.8, -0.6, 0, 0], "gradient")
    }

    @Test func valueLossWithoutClipIsHalfMaskedMSE() throws {
        let v = Variable(t([[1, 2, 3]])), r = t([[0, 0, 100]]), m = t([[1, 1, 0]])
        let out = try valueLoss(values: v, oldValues: v.value, returns: r, mask: m, clipRange: nil)
        expectValue(out.loss.value.item, 0.5 * (1 + 4) / 2, "0.5 * masked MSE")
        #expect(out.clipFraction == 0)
    }

    @Test func uniformLogitsHaveEntropyLogV() throws {
        let logits = Variable(Tensor(shape: [1, 2, 8], repeating: 0.3))
        let h = try maskedEntropy(logits: logits, mask: t([[1, 1]]))
        expectValue(h.value.item, Float(Foundation.log(8.0)), "entropy of uniform over 8")
    }

    @Test func equalRewardsGiveLogTwoAndNoAccuracy() throws {
        let r = Variable(Tensor(shape: [4], repeating: 1.5))
        let out = try bradleyTerryLoss(chosen: r, rejected: r)
        expectValue(out.loss.value.item, Float(Foundation.log(2.0)), "BT loss at zero margin")
        #expect(out.accuracy == 0)
        #expect(out.meanMargin == 0)
    }

    @Test func adaptivePenaltyHalvesDoublesOrKeeps() {
        var p = AdaptiveKLPenalty(beta: 1, target: 0.01)
        p.update(measuredKL: 0.001); #expect(p.beta == 0.5)
        p.update(measuredKL: 0.1); #expect(p.beta == 1)
        p.update(measuredKL: 0.012); #expect(p.beta == 1)
    }

    @Test func klControllerClipsTheProportionalError() {
        var fixed = KLController(fixed: 0.05)
        fixed.update(currentKL: 100, nSteps: 64)
        #expect(fixed.beta == 0.05)
        var ctl = KLController(initialBeta: 0.1, target: 6, horizon: 100)
        ctl.update(currentKL: 600, nSteps: 10)       // error clipped to +0.2: beta *= 1.02
        expectValue(ctl.beta, 0.102, "clipped up")
    }

    @Test func controllersAndMomentsRoundTripThroughCodable() throws {
        var ctl = KLController(initialBeta: 0.1, target: 6, horizon: 100)
        ctl.update(currentKL: 3, nSteps: 10)
        var rm = RunningMoments()
        rm.update([1, 2, 3.5])
        var pen = AdaptiveKLPenalty(beta: 1, target: 0.01)
        pen.update(measuredKL: 1)
        let enc = JSONEncoder(), dec = JSONDecoder()
        #expect(try dec.decode(KLController.self, from: enc.encode(ctl)) == ctl)
        #expect(try dec.decode(KLController.self, from: enc.encode(KLController(fixed: 0.2))) == KLController(fixed: 0.2))
        #expect(try dec.decode(RunningMoments.self, from: enc.encode(rm)) == rm)
        #expect(try dec.decode(AdaptiveKLPenalty.self, from: enc.encode(pen)) == pen)
        #expect(try dec.decode(KLEstimator.self, from: enc.encode(KLEstimator.k3)) == .k3)
    }

    @Test func perfectValuesExplainAllVariance() throws {
        let r = t([[1, 2, 3], [4, 5, 6]]), m = t([[1, 1, 1], [1, 0, 0]])
        #expect(try explainedVariance(values: r, returns: r, mask: m) == 1)
        #expect(try explainedVariance(values: Tensor(zeros: [2, 3]), returns: Tensor(zeros: [2, 3]), mask: m).isNaN)
    }
}
