// One finite-difference gradient check per differentiable op (see GradCheck.swift).
import GradCheck
import Foundation
import Testing
import TensorCore

@Suite struct OpGradientTests {
    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func matmul2D(ta: Bool, tb: Bool) throws {
        let (m, k, n) = (3, 4, 5)
        let a = rand(ta ? [k, m] : [m, k], seed: 1), b = rand(tb ? [n, k] : [k, n], seed: 2)
        try check(GradCase(name: "matmul ta=\(ta) tb=\(tb)", inputs: [a, b],
                           ours: { try TensorCore.matmul($0[0], $0[1], transposeA: ta, transposeB: tb) },
                           reference: { Ref.matmul($0[0], a.shape[0], a.shape[1], ta, $0[1], b.shape[0], b.shape[1], tb) }))
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func matmulBatched(ta: Bool, tb: Bool) throws {
        let (bt, m, k, n) = (2, 3, 4, 5)
        let aS = ta ? [k, m] : [m, k], bS = tb ? [n, k] : [k, n]
        let a = rand([bt] + aS, seed: 3), b = rand([bt] + bS, seed: 4)
        try check(GradCase(name: "batched matmul ta=\(ta) tb=\(tb)", inputs: [a, b],
                           ours: { try TensorCore.matmul($0[0], $0[1], transposeA: ta, transposeB: tb) },
                           reference: { ins in (0..<bt).flatMap { i in
                               Ref.matmul(Array(ins[0][(i * m * k)..<((i + 1) * m * k)]), aS[0], aS[1], ta,
                                          Array(ins[1][(i * k * n)..<((i + 1) * k * n)]), bS[0], bS[1], tb) } }))
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func matmulSharedWeight(ta: Bool, tb: Bool) throws {
        let (bt, m, k, n) = (3, 2, 4, 5)
        let aS = ta ? [k, m] : [m, k], bS = tb ? [n, k] : [k, n]
        let a = rand([bt] + aS, seed: 5), b = rand(bS, seed: 6)
        try check(GradCase(name: "shared-weight matmul ta=\(ta) tb=\(tb)", inputs: [a, b],
                           ours: { try TensorCore.matmul($0[0], $0[1], transposeA: ta, transposeB: tb) },
                           reference: { ins in (0..<bt).flatMap { i in
                               Ref.matmul(Array(ins[0][(i * m * k)..<((i + 1) * m * k)]), aS[0], aS[1], ta, ins[1], bS[0], bS[1], tb) } }))
    }

    @Test(arguments: [true, false])
    func linearLayer(withBias: Bool) throws {
        let x = rand([2, 3, 4], seed: 7), w = rand([5, 4], seed: 8), b = rand([5], seed: 9)
        try check(GradCase(name: "linear bias=\(withBias)", inputs: withBias ? [x, w, b] : [x, w],
                           ours: { try linear($0[0], weight: $0[1], bias: withBias ? $0[2] : nil) },
                           reference: { ins in
                               let y = Ref.matmul(ins[0], 6, 4, false, ins[1], 5, 4, true)
                               return withBias ? y.enumerated().map { $0.element + ins[2][$0.offset % 5] } : y }))
    }

    static let broadcastShapes: [([Int], [Int])] = [([2, 3, 4], [2, 3, 4]), ([2, 3, 4], [4]), ([4], [2, 3, 4]),
                                                     ([2, 3, 4], [1]), ([2, 1, 4], [3, 1]), ([2, 3, 1], [2, 1, 4])]

    @Test(arguments: broadcastShapes)
    func addSubMulDiv(sa: [Int], sb: [Int]) throws {
        let a = rand(sa, seed: 10), b = rand(sb, seed: 11), bPos = rand(sb, seed: 12, lo: 0.5, hi: 2)
        try check(GradCase(name: "add \(sa) \(sb)", inputs: [a, b], ours: { try $0[0] + $0[1] },
                           reference: { Ref.broadcast($0[0], sa, $0[1], sb, +) }))
        try check(GradCase(name: "sub \(sa) \(sb)", inputs: [a, b], ours: { try $0[0] - $0[1] },
                           reference: { Ref.broadcast($0[0], sa, $0[1], sb, -) }))
        try check(GradCase(name: "mul \(sa) \(sb)", inputs: [a, b], ours: { try $0[0] * $0[1] },
                           reference: { Ref.broadcast($0[0], sa, $0[1], sb, *) }))
        try check(GradCase(name: "div \(sa) \(sb)", inputs: [a, bPos], ours: { try $0[0] / $0[1] },
                           reference: { Ref.broadcast($0[0], sa, $0[1], sb, /) }))
    }

    @Test func broadcastMismatchIsAnError() {
        let a = Variable(Tensor(zeros: [2, 3])), b = Variable(Tensor(zeros: [4]))
        #expect(throws: TensorError.self) { try a + b }
        do { _ = try a * b } catch { #expect("\(error)".contains("(2, 3) and (4,)")) }
    }

    @Test(arguments: [0, 1, 2, -1])
    func sumAndMeanOverAxis(axis: Int) throws {
        let shape = [2, 3, 4]
        let x = rand(shape, seed: 13)
        let a = (axis + 3) % 3
        func ref(_ v: [Double], mean: Bool) -> [Double] {
            var outShape = shape; outShape[a] = 1
            let so = strides(shape)
            var out = [Double](repeating: 0, count: 24 / shape[a])
            let sOut = strides(outShape)
            for i in 0..<24 {
                var o = 0
                for d in 0..<3 where d != a { o += ((i / so[d]) % shape[d]) * sOut[d] }
                out[o] += v[i] / (mean ? Double(shape[a]) : 1)
            }
            return out
        }
        for keep in [false, true] {
            try check(GradCase(name: "sum axis \(axis) keep \(keep)", inputs: [x], ours: { try $0[0].sum(axis: axis, keepDims: keep) },
                               reference: { ref($0[0], mean: false) }))
            try check(GradCase(name: "mean axis \(axis)", inputs: [x], ours: { try $0[0].mean(axis: axis, keepDims: keep) },
                               reference: { ref($0[0], mean: true) }))
        }
        try check(GradCase(name: "sum all", inputs: [x], ours: { $0[0].sum() }, reference: { [$0[0].reduce(0, +)] }))
        try check(GradCase(name: "mean all", inputs: [x], ours: { $0[0].mean() }, reference: { [$0[0].reduce(0, +) / 24] }))
    }

    @Test func unaryActivations() throws {
        // 40 elements: covers a full SIMD16 block and a tail.
        let x = rand([5, 8], seed: 14, lo: -3, hi: 3)
        let pos = rand([5, 8], seed: 15, lo: 0.2, hi: 3)
        let awayFromZero = Tensor.init(uninitializedShape: [0])  // placeholder to keep types simple
        _ = awayFromZero
        let cases: [(String, Tensor, (Variable) throws -> Variable, (Double) -> Double)] = [
            ("exp", x, { $0.exp() }, { Foundation.exp($0) }),
            ("log", pos, { $0.log() }, { Foundation.log($0) }),
            ("tanh", x, { $0.tanh() }, { Foundation.tanh($0) }),
            ("sigmoid", x, { $0.sigmoid() }, Ref.sigmoid),
            ("gelu", x, { $0.gelu() }, Ref.gelu),
            ("silu", x, { $0.silu() }, { $0 * Ref.sigmoid($0) }),
            ("relu", pos, { ($0 - 1.5).relu() }, { max(0, $0 - 1.5) }),
            ("scaled", x, { $0.scaled(by: -2.5) }, { -2.5 * $0 }),
            ("shifted", x, { $0.shifted(by: 0.75) }, { $0 + 0.75 }),
            ("squared", x, { $0.squared() }, { $0 * $0 }),
            ("negated", x, { -$0 }, { -$0 }),
        ]
        for (name, input, f, r) in cases {
            try check(GradCase(name: name, inputs: [input], ours: { try f($0[0]) }, reference: { $0[0].map(r) }))
        }
    }

    @Test func softmaxAndLogSoftmax() throws {
        let x = rand([3, 37], seed: 16, lo: -4, hi: 4)
        try check(GradCase(name: "softmax", inputs: [x], ours: { try $0[0].softmax() },
                           reference: { Ref.rows($0[0], 37, Ref.softmax) }))
        try check(GradCase(name: "logSoftmax", inputs: [x], ours: { try $0[0].logSoftmax() },
                           reference: { Ref.rows($0[0], 37) { Ref.softmax($0).map { Foundation.log($0) } } }))
    }

    @Test func layerNormAndRMSNorm() throws {
        let c = 20
        let x = rand([2, 3, c], seed: 17, lo: -2, hi: 2), w = rand([c], seed: 18, lo: 0.5, hi: 1.5), b = rand([c], seed: 19)
        try check(GradCase(name: "layerNorm", inputs: [x, w, b], ours: { try layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-5) },
                           reference: { ins in Ref.rows(ins[0], c) { r in
                               let m = r.reduce(0, +) / Double(c)
                               let v = r.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(c)
                               return r.enumerated().map { ($0.element - m) / (v + 1e-5).squareRoot() * ins[1][$0.offset] + ins[2][$0.offset] } } }))
        try check(GradCase(name: "rmsNorm", inputs: [x, w], ours: { try rmsNorm($0[0], weight: $0[1], eps: 1e-6) },
                           reference: { ins in Ref.rows(ins[0], c) { r in
                               let ms = r.map { $0 * $0 }.reduce(0, +) / Double(c)
                               return r.enumerated().map { $0.element / (ms + 1e-6).squareRoot() * ins[1][$0.offset] } } }))
    }

    @Test func embeddingAndGather() throws {
        let table = rand([7, 5], seed: 20)
        let ids: [Int32] = [3, 0, 6, 3, 1, 3]
        try check(GradCase(name: "embedding", inputs: [table], ours: { try embedding(ids, shape: [2, 3], table: $0[0]) },
                           reference: { ins in ids.flatMap { Array(ins[0][(Int($0) * 5)..<(Int($0) * 5 + 5)]) } }))
        let x = rand([2, 3, 6], seed: 21)
        let idx: [Int32] = [5, 0, 2, 2, 4, 1]
        try check(GradCase(name: "gather", inputs: [x], ours: { try gatherLastAxis($0[0], idx) },
                           reference: { ins in idx.enumerated().map { ins[0][$0.offset * 6 + Int($0.element)] } }))
        #expect(throws: TensorError.self) { try embedding([7], shape: [1], table: Variable(table)) }
        #expect(throws: TensorError.self) { try gatherLastAxis(Variable(x), [6, 0, 0, 0, 0, 0]) }
    }

    @Test func layoutOps() throws {
        let x = rand([2, 3, 4], seed: 22)
        try check(GradCase(name: "reshape", inputs: [x], ours: { try $0[0].reshaped([4, -1]).scaled(by: 2) },
                           reference: { $0[0].map { 2 * $0 } }))
        let perm = [2, 0, 1]
        try check(GradCase(name: "permute", inputs: [x], ours: { try $0[0].permuted(perm) },
                           reference: { ins in
                               var out: [Double] = []
                               for k in 0..<4 { for i in 0..<2 { for j in 0..<3 { out.append(ins[0][i * 12 + j * 4 + k]) } } }
                               return out }))
        try check(GradCase(name: "transpose", inputs: [x], ours: { try $0[0].transposed(1, 2) },
                           reference: { ins in
                               var out: [Double] = []
                               for i in 0..<2 { for k in 0..<4 { for j in 0..<3 { out.append(ins[0][i * 12 + j * 4 + k]) } } }
                               return out }))
        try check(GradCase(name: "slice", inputs: [x], ours: { try $0[0].sliced(axis: 1, 1..<3) },
                           reference: { ins in
                               var out: [Double] = []
                               for i in 0..<2 { for j in 1..<3 { for k in 0..<4 { out.append(ins[0][i * 12 + j * 4 + k]) } } }
                               return out }))
        let y = rand([2, 2, 4], seed: 23)
        try check(GradCase(name: "concat", inputs: [x, y], ours: { try concat([$0[0], $0[1]], axis: 1) },
                           reference: { ins in
                               var out: [Double] = []
                               for i in 0..<2 { out += ins[0][(i * 12)..<(i * 12 + 12)]; out += ins[1][(i * 8)..<(i * 8 + 8)] }
                               return out }))
    }

    @Test func selectionOps() throws {
        let a = rand([4, 9], seed: 24), b = rand([4, 9], seed: 25)
        var condData = [Float](repeating: 0, count: 36)
        for i in stride(from: 0, to: 36, by: 3) { condData[i] = 1 }
        let cond = try Tensor(shape: [4, 9], data: condData)
        try check(GradCase(name: "where", inputs: [a, b], ours: { try select(cond, $0[0], $0[1]) },
                           reference: { ins in (0..<36).map { condData[$0] != 0 ? ins[0][$0] : ins[1][$0] } }))
        // Keep every element at least 0.05 from the clamp bounds (kinks are not differentiable).
        let xs = a.scalars.map { abs($0 - 0.4) < 0.05 || abs($0 + 0.3) < 0.05 ? $0 + 0.11 : $0 }
        let x = try Tensor(shape: [4, 9], data: xs)
        try check(GradCase(name: "clamp", inputs: [x], ours: { try $0[0].clamped(min: -0.3, max: 0.4) },
                           reference: { $0[0].map { min(0.4, max(-0.3, $0)) } }))
        try check(GradCase(name: "minimum", inputs: [a, b], ours: { try minimum($0[0], $0[1]) },
                           reference: { ins in zip(ins[0], ins[1]).map { min($0, $1) } }))
        try check(GradCase(name: "maximum", inputs: [a, b], ours: { try maximum($0[0], $0[1]) },
                           reference: { ins in zip(ins[0], ins[1]).map { max($0, $1) } }))
    }

    @Test func tiesSplitTheGradientLikePyTorch() throws {
        let a = Variable(Tensor(shape: [2], repeating: 1), requiresGrad: true)
        let b = Variable(Tensor(shape: [2], repeating: 1), requiresGrad: true)
        let tape = Tape()
        let y = try tape.record { try maximum(a, b).sum() }
        try tape.backward(y)
        #expect(a.grad?.scalars == [0.5, 0.5] && b.grad?.scalars == [0.5, 0.5])
    }

    @Test(arguments: [(2, 2), (4, 2), (4, 1)])
    func causalAttentionMatchesReference(heads: Int, kvHeads: Int) throws {
        let (b, t, d) = (2, 5, 4)
        let q = rand([b, t, heads * d], seed: 26), k = rand([b, t, kvHeads * d], seed: 27), v = rand([b, t, kvHeads * d], seed: 28)
        // Row 1 is left-padded by two tokens: its first two queries see no key at all.
        let mask: [Float] = [1, 1, 1, 1, 1, 0, 0, 1, 1, 1]
        try check(GradCase(name: "attention H=\(heads) Hkv=\(kvHeads)", inputs: [q, k, v],
                           ours: { try causalAttention(q: $0[0], k: $0[1], v: $0[2], heads: heads, kvHeads: kvHeads, keyMask: mask) },
                           reference: { Ref.attention(q: $0[0], k: $0[1], v: $0[2], b: b, t: t, h: heads, hkv: kvHeads, d: d, mask: mask.map(Double.init)) }))
    }

    @Test func rotaryEmbeddingMatchesReference() throws {
        let (b, t, h, d) = (2, 3, 2, 6)
        let x = rand([b, t, h * d], seed: 29)
        let positions: [Int32] = [0, 0, 1, 5, 6, 7]
        let invFreq: [Float] = (0..<(d / 2)).map { Float(1 / pow(10000.0, Double(2 * $0) / Double(d))) }
        try check(GradCase(name: "rope", inputs: [x], ours: { try rotaryEmbedding($0[0], heads: h, positions: positions, invFreq: invFreq) },
                           reference: { ins in
                               var out = ins[0]
                               for r in 0..<(b * t) { for hh in 0..<h { for i in 0..<(d / 2) {
                                   let ang = Double(Float(positions[r]) * invFreq[i])
                                   let base = (r * h + hh) * d
                                   let x1 = ins[0][base + i], x2 = ins[0][base + d / 2 + i]
                                   out[base + i] = x1 * cos(ang) - x2 * sin(ang)
                                   out[base + d / 2 + i] = x2 * cos(ang) + x1 * sin(ang)
                               } } }
                               return out }))
    }

    @Test func crossEntropyAndTokenLogProbs() throws {
        let v = 11
        let logits = rand([2, 3, v], seed: 30, lo: -3, hi: 3)
        let targets: [Int32] = [4, -100, 0, 10, -100, 7]
        try check(GradCase(name: "crossEntropy", inputs: [logits], ours: { try crossEntropy(logits: $0[0], targets: targets) },
                           reference: { ins in
                               let lp = Ref.rows(ins[0], v) { Ref.softmax($0).map { Foundation.log($0) } }
                               let kept = targets.enumerated().filter { $0.element != -100 }
                               return [-kept.map { lp[$0.offset * v + Int($0.element)] }.reduce(0, +) / Double(kept.count)] }))
        let all: [Int32] = [4, 1, 0, 10, 2, 7]
        try check(GradCase(name: "tokenLogProbs", inputs: [logits], ours: { try tokenLogProbs(logits: $0[0], targets: all) },
                           reference: { ins in
                               let lp = Ref.rows(ins[0], v) { Ref.softmax($0).map { Foundation.log($0) } }
                               return all.enumerated().map { lp[$0.offset * v + Int($0.element)] } }))
        #expect(throws: TensorError.self) { try crossEntropy(logits: Variable(logits), targets: [Int32](repeating: -100, count: 6)) }
        #expect(throws: TensorError.self) { try crossEntropy(logits: Variable(logits), targets: [11, 0, 0, 0, 0, 0]) }
    }

    @Test func dropoutUsesItsMaskInBothDirections() throws {
        let x = rand([3, 10], seed: 31)
        var probe = Philox(seed: 99)
        let keep = (0..<30).map { _ in probe.uniform() < 0.25 ? 0.0 : 1 / 0.75 }
        try check(GradCase(name: "dropout", inputs: [x], ours: { var rng = Philox(seed: 99); return try $0[0].dropout(0.25, rng: &rng) },
                           reference: { ins in zip(ins[0], keep).map { $0 * $1 } }))
    }
}
