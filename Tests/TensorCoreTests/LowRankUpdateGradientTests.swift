// addLowRank (LoRA's fused base + s · low Bᵀ) against a plain-loop Double reference: forward
// and finite-difference gradients of all three inputs, batched and 2-D, and with only some
// inputs differentiable (a frozen base passes no gradient).
import GradCheck
import TensorCore
import Testing

@Suite struct LowRankUpdateGradientTests {
    @Test(arguments: [[2, 3], [6]])
    func addLowRankMatchesReference(lead: [Int]) throws {
        let rows = lead.reduce(1, *), (outF, r, s): (Int, Int, Float) = (5, 3, 0.75)
        let base = rand(lead + [outF], seed: 21), low = rand(lead + [r], seed: 22), b = rand([outF, r], seed: 23)
        for diff in [[true, true, true], [false, true, true], [true, false, true], [false, false, true]] {
            try check(GradCase(name: "addLowRank \(lead) differentiable \(diff)", inputs: [base, low, b], differentiable: diff,
                               ours: { try addLowRank($0[0], low: $0[1], b: $0[2], scaling: s) },
                               reference: { ins in
                                   let prod = Ref.matmul(ins[1], rows, r, false, ins[2], outF, r, true)
                                   return zip(ins[0], prod).map { $0 + Double(s) * $1 } }))
        }
    }

    @Test func shapeErrorsNameTheOperands() {
        #expect { try addLowRank(Variable(Tensor(zeros: [2, 5])), low: Variable(Tensor(zeros: [2, 4])), b: Variable(Tensor(zeros: [5, 3])),
                                 scaling: 1) } throws: { "\($0)".contains("addLowRank") && "\($0)".contains("(out, r)") }
    }
}
