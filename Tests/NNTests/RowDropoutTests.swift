// Row-keyed dropout (RowStreams): a row's mask depends only on its stream, the site and the
// element's place in the row — not on the other rows, their order or the padded length; the
// masks drop about p and scale the rest by 1/(1-p); the gradient is the mask (finite differences).
import GradCheck
import NN
import TensorCore
import Testing

@Suite struct RowDropoutTests {
    let streams = RowStreams(seed: 7, step: 3, keys: [(row: 0, sub: 0), (row: 1, sub: 0), (row: 2, sub: 0)])

    @Test func aRowsMaskIgnoresTheRestOfTheBatch() throws {
        let (t, c) = (5, 8)
        let whole = try streams.mask(shape: [3, t, c], p: 0.3, site: 2, op: "test").scalars
        // Rows 2 and 0 in that order, padded to T = 9: each row's first T·C mask values are the same.
        let other = RowStreams(seed: 7, step: 3, keys: [(row: 2, sub: 0), (row: 0, sub: 0)])
        let swapped = try other.mask(shape: [2, 9, c], p: 0.3, site: 2, op: "test").scalars
        #expect(Array(swapped[0..<(t * c)]) == Array(whole[(2 * t * c)..<(3 * t * c)]))
        #expect(Array(swapped[(9 * c)..<(9 * c + t * c)]) == Array(whole[0..<(t * c)]))
        // Another site, step, sub-row or seed: another mask.
        #expect(try streams.mask(shape: [3, t, c], p: 0.3, site: 3, op: "test").scalars != whole)
        let nextStep = RowStreams(seed: 7, step: 4, keys: [(row: 0, sub: 0), (row: 1, sub: 0), (row: 2, sub: 0)])
        #expect(try nextStep.mask(shape: [3, t, c], p: 0.3, site: 2, op: "test").scalars != whole)
        let sub = RowStreams(seed: 7, step: 3, keys: [(row: 0, sub: 1), (row: 1, sub: 1), (row: 2, sub: 1)])
        #expect(try sub.mask(shape: [3, t, c], p: 0.3, site: 2, op: "test").scalars != whole)
    }

    /// The RL engine's prompts are left-padded to each batch's own width: a row shifted right by k
    /// positions must see, at its real positions, the mask it sees unpadded.
    @Test func aLeftPaddedRowKeepsItsMaskFromItsFirstToken() throws {
        let (t, c) = (5, 6)   // c not a multiple of 4: the shift crosses Philox's 4-value blocks
        let whole = try streams.mask(shape: [3, t, c], p: 0.3, site: 1, op: "test").scalars
        let padded = try streams.leftPadded([0, 3, 1]).mask(shape: [3, t + 3, c], p: 0.3, site: 1, op: "test").scalars
        let w = (t + 3) * c
        #expect(Array(padded[0..<(t * c)]) == Array(whole[0..<(t * c)]))
        #expect(Array(padded[(w + 3 * c)..<(2 * w)]) == Array(whole[(t * c)..<(2 * t * c)]))
        #expect(Array(padded[(2 * w + c)..<(2 * w + c + t * c)]) == Array(whole[(2 * t * c)..<(3 * t * c)]))
    }

    @Test func masksDropAboutPAndScaleTheRest() throws {
        let p: Float = 0.25
        let m = try streams.mask(shape: [3, 100, 100], p: p, site: 0, op: "test").scalars
        let dropped = Double(m.filter { $0 == 0 }.count) / Double(m.count)
        // 30000 draws: the standard error of the fraction is 0.0025.
        #expect(abs(dropped - Double(p)) < 0.01, "dropped \(dropped) for p = \(p)")
        #expect(m.allSatisfy { $0 == 0 || $0 == 1 / (1 - p) })
        #expect(try streams.mask(shape: [3, 4], p: 0, site: 0, op: "test").scalars.allSatisfy { $0 == 1 })
    }

    @Test func badInputIsAnError() throws {
        #expect(throws: TensorError.self) { try streams.mask(shape: [4, 3], p: 0.1, site: 0, op: "test") }
        #expect(throws: TensorError.self) { try streams.mask(shape: [3, 3], p: 1, site: 0, op: "test") }
        #expect(throws: TensorError.self) { try Variable(Tensor(shape: [3, 2], repeating: 1)).dropout(-0.1, rows: streams, site: 0) }
    }

    @Test func gradientIsTheMask() throws {
        let shape = [3, 2, 4]
        let mask = try streams.mask(shape: shape, p: 0.4, site: 1, op: "test").scalars.map(Double.init)
        try check(GradCase(name: "row dropout", inputs: [rand(shape, seed: 5)],
                           ours: { v throws in try v[0].dropout(0.4, rows: streams, site: 1) },
                           reference: { x in zip(x[0], mask).map { $0 * $1 } }))
    }
}
