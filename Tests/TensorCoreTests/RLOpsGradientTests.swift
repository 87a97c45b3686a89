// Finite-difference checks for the ops added for RLMath: softplus, logSigmoid and the fused
// softmax entropy (which must also agree with its unfused twin and survive -inf logits).
import GradCheck
import Foundation
import Testing
import TensorCore

@Suite struct RLOpsGradientTests {
    @Test func softplusAndLogSigmoid() throws {
        let x = rand([3, 7], seed: 41, lo: -30, hi: 30)
        try check(GradCase(name: "softplus", inputs: [x], ours: { $0[0].softplus() },
                           reference: { $0[0].map { max($0, 0) + Foundation.log1p(Foundation.exp(-abs($0))) } }))
        try check(GradCase(name: "logSigmoid", inputs: [x], ours: { $0[0].logSigmoid() },
                           reference: { $0[0].map { min($0, 0) - Foundation.log1p(Foundation.exp(-abs($0))) } }))
    }

    @Test(arguments: [5, 37])
    func softmaxEntropyGradient(v: Int) throws {
        try check(GradCase(name: "softmaxEntropy V=\(v)", inputs: [rand([2, 3, v], seed: 42, lo: -4, hi: 4)],
                           ours: { try softmaxEntropy(logits: $0[0]) },
                           reference: { Ref.rows($0[0], v) { row in
                               let p = Ref.softmax(row)
                               return [-zip(p, row).map { p, _ in p > 0 ? p * Foundation.log(p) : 0 }.reduce(0, +)]
                           } }))
    }

    @Test func fusedEntropyMatchesUnfusedTwin() throws {
        let x = Variable(rand([3, 1000], seed: 43, lo: -6, hi: 6))
        let fused = try softmaxEntropy(logits: x).value.scalars
        let lp = try x.logSoftmax()
        let plain = try (lp.exp() * lp).sum(axis: -1).negated().value.scalars
        for i in 0..<3 { #expect(abs(fused[i] - plain[i]) < 1e-4, "row \(i): fused \(fused[i]) vs plain \(plain[i])") }
    }

    @Test func negativeInfinityLogitsContributeZero() throws {
        // 20 logits (a SIMD block and a tail), every other one -inf as top-k leaves them.
        let t = try Tensor(shape: [1, 20], data: (0..<20).map { $0 % 2 == 0 ? 0.5 : -Float.infinity })
        let x = Variable(t, requiresGrad: true)
        let tape = Tape()
        let h = try tape.record { try softmaxEntropy(logits: x).sum() }
        #expect(abs(h.value.item - Float(Foundation.log(10.0))) < 1e-5)
        try tape.backward(h)
        #expect(x.grad!.scalars.allSatisfy { $0.isFinite })
    }
}
