// End-to-end use of the core: a two-layer MLP trained with AdamW learns XOR, and the
// same seed gives the same parameters bit for bit.
import NN
import TensorCore
import Testing

private func trainXOR(seed: UInt64) throws -> (loss: Float, params: [Float]) {
    var rng = Philox(seed: seed)
    let l1 = Linear(inFeatures: 2, outFeatures: 16, rng: &rng)
    let l2 = Linear(inFeatures: 16, outFeatures: 2, rng: &rng)
    let params = l1.parameters() + l2.parameters()
    let opt = AdamW(parameters: params, config: AdamWConfig(lr: 0.05, weightDecay: 0))
    let x = Variable(try Tensor(shape: [4, 2], data: [0, 0, 0, 1, 1, 0, 1, 1]))
    let y: [Int32] = [0, 1, 1, 0]
    var last: Float = .infinity
    for _ in 0..<200 {
        let tape = Tape()
        let loss = try tape.record { try crossEntropy(logits: l2(l1(x).gelu()), targets: y) }
        last = loss.value.item
        for p in params { p.zeroGrad() }
        try tape.backward(loss)
        try clipGradNorm(params, maxNorm: 1)
        opt.step()
    }
    return (last, params.flatMap { $0.value.scalars })
}

@Suite struct TrainingSmokeTests {
    @Test func mlpLearnsXORDeterministically() throws {
        let a = try trainXOR(seed: 7), b = try trainXOR(seed: 7)
        #expect(a.loss < 0.05, "XOR loss after 200 AdamW steps: \(a.loss)")
        #expect(a.params == b.params)
    }

    @Test func outsideRecordNothingIsKept() throws {
        var rng = Philox(seed: 1)
        let l = Linear(inFeatures: 3, outFeatures: 2, rng: &rng)
        let y = try l(Variable(Tensor(zeros: [1, 3])))
        #expect(!y.requiresGrad)
        let tape = Tape()
        let z = try tape.record { try Tape.noGrad { try l(Variable(Tensor(zeros: [1, 3]))) } }
        #expect(!z.requiresGrad && tape.entryCount == 0)
    }

    @Test func gradientsAccumulateAcrossBackwardCalls() throws {
        let w = makeParameter(try Tensor(shape: [2], data: [1, 2]))
        for _ in 0..<3 {
            let tape = Tape()
            let loss = try tape.record { try (w * w).sum() }
            try tape.backward(loss)
        }
        #expect(w.grad?.scalars == [6, 12])   // 3 x d(w²)/dw = 3 x 2w
    }

    @Test func nanLossIsAClearError() throws {
        let w = makeParameter(try Tensor(shape: [1], data: [-1]))
        let tape = Tape()
        let loss = try tape.record { w.log().sum() }
        #expect { try tape.backward(loss) } throws: { "\($0)".contains("non-finite") }
    }
}
