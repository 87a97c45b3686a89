// The optimizer on many threads: the gradient norm is the same bits at 1, 2, 3 and 4 threads
// (fixed blocks, Double partials summed in block order), the fused clip + AdamW
// (`AdamW.clipAndStep`) equals `clipGradNorm` then `step()` bit for bit, and threaded
// equals one thread. Leaves out: agreement with torch (OptimGoldenTests.swift).
import NN
import TensorCore
import Testing

private let pools = (1...4).map { ThreadPool(threadCount: $0) }

/// Sizes straddling the 64K block: several blocks per tensor, ragged tails, tiny tensors.
private let sizes = [200_003, 65_536, 70_001, 17, 768, 3]

/// Deterministic values in [-scale, scale): an LCG, so every test builds the same tensors.
private func values(_ count: Int, seed: UInt64, scale: Float) -> [Float] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return (Float(state >> 40) / Float(1 << 23) - 1) * scale
    }
}

/// Parameters with gradients for step `step` (the same for every call with the same arguments).
private func makeModel() throws -> [Variable] {
    try sizes.enumerated().map { i, n in
        makeParameter(try Tensor(shape: [n], data: values(n, seed: UInt64(i + 1), scale: 1)), name: "p\(i)")
    }
}

private func setGradients(_ params: [Variable], step: Int, scale: Float) throws {
    for (i, p) in params.enumerated() {
        p.grad = try Tensor(shape: p.shape, data: values(p.count, seed: UInt64(100 * step + i + 7), scale: scale))
    }
}

/// First differing element and how many differ, for a readable failure.
private func bitwiseDiff(_ a: [Float], _ b: [Float]) -> String? {
    guard a.count == b.count else { return "\(a.count) vs \(b.count) values" }
    var first: Int?, count = 0
    for i in a.indices where a[i].bitPattern != b[i].bitPattern {
        if first == nil { first = i }
        count += 1
    }
    guard let first else { return nil }
    return "\(count) of \(a.count) differ, first at \(first): \(a[first]) vs \(b[first])"
}

@Suite struct OptimThreadingTests {
    @Test func gradNormIsTheSameBitsAtEveryThreadCount() throws {
        let params = try makeModel()
        try setGradients(params, step: 1, scale: 3)
        let norms = try pools.map { try gradNorm(params, pool: $0) }
        for (i, norm) in norms.enumerated() {
            #expect(norm.bitPattern == norms[0].bitPattern, "\(i + 1) threads: \(norm) vs 1 thread: \(norms[0])")
        }
        // The plain twin: one Double sum over every element, in order.
        var sq = 0.0
        for p in params { for x in p.grad!.scalars { sq += Double(x) * Double(x) } }
        let plain = Float(sq.squareRoot())
        #expect(abs(norms[0] - plain) <= 1e-6 * plain, "blocked \(norms[0]) vs plain \(plain)")
    }

    @Test func nonFiniteGradientInALaterBlockIsNamed() throws {
        let params = try makeModel()
        try setGradients(params, step: 1, scale: 1)
        var g = params[2].grad!
        g[flat: 69_999] = .infinity
        params[2].grad = g
        for pool in pools {
            #expect { try clipGradNorm(params, maxNorm: 1, pool: pool) } throws: { "\($0)".contains("p2") }
        }
    }

    /// Three steps each way, gradients large enough to clip (scale 3) or left alone (scale 1e-4).
    @Test(arguments: [Float(3), 1e-4])
    func fusedEqualsClipThenStepBitForBit(gradScale: Float) throws {
        func run(fused: Bool, pool: ThreadPool) throws -> (norms: [Float], params: [[Float]], m: [[Float]], v: [[Float]]) {
            let params = try makeModel()
            let opt = AdamW(parameters: params, config: AdamWConfig(lr: 1e-3, weightDecay: 0.01),
                            decays: params.indices.map { $0 % 2 == 0 })
            var norms: [Float] = []
            for step in 1...3 {
                try setGradients(params, step: step, scale: gradScale)
                if fused {
                    norms.append(try opt.clipAndStep(maxNorm: 1, pool: pool))
                } else {
                    norms.append(try clipGradNorm(params, maxNorm: 1, pool: pool))
                    opt.step(pool: pool)
                }
            }
            return (norms, params.map { $0.value.scalars }, opt.m.map { $0!.scalars }, opt.v.map { $0!.scalars })
        }
        let reference = try run(fused: false, pool: pools[0])
        #expect(reference.norms.allSatisfy { gradScale > 1 ? $0 > 1 : $0 < 1 }, "norms \(reference.norms)")
        for (fused, pool) in [(true, pools[0]), (true, pools[1]), (true, pools[2]), (false, pools[1]), (false, pools[3])] {
            let what = "\(fused ? "fused" : "unfused") at \(pool.threadCount) threads vs unfused at 1"
            let got = try run(fused: fused, pool: pool)
            #expect(got.norms.map(\.bitPattern) == reference.norms.map(\.bitPattern), "\(what): norms \(got.norms) vs \(reference.norms)")
            for i in sizes.indices {
                if let d = bitwiseDiff(got.params[i], reference.params[i]) { Issue.record("\(what): parameter \(i): \(d)") }
                if let d = bitwiseDiff(got.m[i], reference.m[i]) { Issue.record("\(what): exp_avg \(i): \(d)") }
                if let d = bitwiseDiff(got.v[i], reference.v[i]) { Issue.record("\(what): exp_avg_sq \(i): \(d)") }
            }
        }
    }

    /// The fused step leaves the stored gradients unclipped; clipGradNorm scales them.
    @Test func fusedStepLeavesGradientsAsTheyWere() throws {
        let params = try makeModel()
        try setGradients(params, step: 1, scale: 3)
        let before = params.map { $0.grad!.scalars }
        let opt = AdamW(parameters: params, config: AdamWConfig())
        let norm = try opt.clipAndStep(maxNorm: 1, pool: pools[1])
        #expect(norm > 1)
        for i in params.indices { #expect(bitwiseDiff(params[i].grad!.scalars, before[i]) == nil, "gradient \(i) changed") }
        try clipGradNorm(params, maxNorm: 1, pool: pools[1])
        #expect(bitwiseDiff(params[0].grad!.scalars, before[0]) != nil, "clipGradNorm left gradient 0 unscaled")
    }
}
