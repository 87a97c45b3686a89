// Tests of the seeded shuffle, the train/eval split and epoch iteration, including resume
// from a saved DataPosition giving exactly the batches an uninterrupted run gives.
import Foundation
import Testing
import TensorCore
import Data

@Test func permutationIsSeededAndComplete() {
    let a = Shuffle.permutation(count: 100, seed: 7)
    #expect(a.sorted() == Array(0..<100))
    #expect(a == Shuffle.permutation(count: 100, seed: 7))
    #expect(a != Shuffle.permutation(count: 100, seed: 8))
    #expect(a != Shuffle.permutation(count: 100, seed: 7, stream: 1))
    #expect(Shuffle.permutation(count: 1, seed: 1) == [0] && Shuffle.permutation(count: 0, seed: 1) == [])
}

@Test func shuffleIsRoughlyUniform() {
    // 6000 shuffles of 3 items: each of the 6 orders ~1000 times (binomial sd ~ 29).
    var counts: [[Int]: Int] = [:]
    for s in 0..<6000 { counts[Shuffle.permutation(count: 3, seed: UInt64(s)), default: 0] += 1 }
    #expect(counts.count == 6)
    #expect(counts.values.allSatisfy { abs($0 - 1000) < 150 }, "\(counts)")
    var rng = Philox(seed: 3)
    var hist = [Int](repeating: 0, count: 5)
    for _ in 0..<10000 { hist[Shuffle.uniform(below: 5, rng: &rng)] += 1 }
    #expect(hist.allSatisfy { abs($0 - 2000) < 200 }, "\(hist)")
}

@Test func trainEvalSplit() throws {
    let s = try DataSplit(count: 50, evalFraction: 0.1, seed: 1)
    #expect(s.eval.count == 5 && s.train.count == 45)
    #expect(Set(s.eval).isDisjoint(with: s.train) && (s.eval + s.train).sorted() == Array(0..<50))
    #expect(s.train == s.train.sorted() && s.eval == s.eval.sorted())
    #expect(try DataSplit(count: 50, evalFraction: 0.1, seed: 1) == s)
    #expect(try DataSplit(count: 50, evalFraction: 0.1, seed: 2) != s)
    #expect(try DataSplit(count: 3, evalFraction: 0.01, seed: 1).eval.count == 1)     // at least one
    #expect(try DataSplit(count: 1, evalFraction: 0.5, seed: 1).eval.isEmpty)         // but keep a train example
    #expect(try DataSplit(count: 10, evalFraction: 0, seed: 1).train.count == 10)
    #expect(errorText { _ = try DataSplit(count: 0, evalCount: 0, seed: 1) } == "cannot split an empty dataset")
    #expect(errorText { _ = try DataSplit(count: 10, evalFraction: 1, seed: 1) } == "eval fraction must be in [0, 1), got 1.0")
}

@Test func epochsCoverEveryIndexOnceAndReshuffle() throws {
    var s = try EpochSampler(indices: Array(100..<110), batchSize: 4, seed: 5)
    #expect(s.batchesPerEpoch == 3)
    var epoch0: [Int] = [], sizes: [Int] = []
    for _ in 0..<3 { let (b, e) = s.next(); #expect(e == 0); epoch0 += b; sizes.append(b.count) }
    #expect(sizes == [4, 4, 2] && epoch0.sorted() == Array(100..<110))
    #expect(s.position == DataPosition(epoch: 1, index: 0))
    var epoch1: [Int] = []
    for _ in 0..<3 { epoch1 += s.next().batch }
    #expect(epoch1.sorted() == Array(100..<110) && epoch1 != epoch0)
    #expect(epoch0 == s.order(epoch: 0) && epoch1 == s.order(epoch: 1))

    var d = try EpochSampler(indices: Array(0..<10), batchSize: 4, seed: 5, dropLast: true)
    #expect(d.batchesPerEpoch == 2)
    #expect(d.next().batch.count == 4 && d.next().batch.count == 4 && d.position == DataPosition(epoch: 1, index: 0))
    var plain = try EpochSampler(indices: [3, 1, 2], batchSize: 2, seed: 0, shuffle: false)
    #expect(plain.next().batch == [3, 1] && plain.next().batch == [2] && plain.next().batch == [3, 1])
}

@Test func resumeFromSavedPositionContinuesExactly() throws {
    var full = try EpochSampler(indices: Array(0..<23), batchSize: 5, seed: 42)
    let uninterrupted = (0..<12).map { _ in full.next().batch }
    var first = try EpochSampler(indices: Array(0..<23), batchSize: 5, seed: 42)
    for _ in 0..<7 { _ = first.next() }
    let saved = try JSONEncoder().encode(first.position)
    #expect(String(decoding: saved, as: UTF8.self).contains("\"epoch\":1"))
    let position = try JSONDecoder().decode(DataPosition.self, from: saved)
    var resumed = try EpochSampler(indices: Array(0..<23), batchSize: 5, seed: 42, position: position)
    #expect((7..<12).map { _ in resumed.next().batch } == Array(uninterrupted[7...]))
}

@Test func samplerRejectsBadArguments() {
    #expect(errorText { _ = try EpochSampler(indices: [], batchSize: 2, seed: 0) } == "cannot sample from an empty dataset")
    #expect(errorText { _ = try EpochSampler(indices: [1], batchSize: 0, seed: 0) } == "batch size must be >= 1, got 0")
    #expect(errorText { _ = try EpochSampler(indices: [1, 2], batchSize: 3, seed: 0, dropLast: true) }?.contains("no batches") == true)
    #expect(errorText { _ = try EpochSampler(indices: [1, 2], batchSize: 1, seed: 0, position: DataPosition(epoch: 0, index: 5)) }?
        .contains("outside a dataset of 2") == true)
}
