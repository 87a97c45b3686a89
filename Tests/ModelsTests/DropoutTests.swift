// Training-time dropout: off unless a trainer installs it, reproducible from its row streams, and
// a row draws the same masks whatever batch it sits in (other rows, order, padded length) — in the
// trunk (embedding and residual dropout) and in LoRA's input dropout.
import Foundation
import Models
import NN
import TensorCore
import Testing

/// Right-padded rows (pad id 96), as the training collators build them.
private func rightPadded(_ rows: [[Int32]], time: Int) throws -> TokenBatch {
    var ids: [Int32] = [], mask: [Float] = []
    for r in rows {
        ids += r + [Int32](repeating: 96, count: time - r.count)
        mask += [Float](repeating: 1, count: r.count) + [Float](repeating: 0, count: time - r.count)
    }
    return try TokenBatch(ids: ids, batch: rows.count, time: time, attentionMask: mask)
}

/// Output rows (B, T, V) of `batch` cut to each row's real tokens.
private func realRows(_ y: Tensor, lengths: [Int]) -> [[Float]] {
    let (t, v) = (y.shape[1], y.shape[2]), s = y.scalars
    return lengths.enumerated().map { b, n in Array(s[(b * t * v)..<(b * t * v + n * v)]) }
}

private let sequences: [[Int32]] = [[5, 17, 33, 8, 61, 12, 40], [9, 22, 3], [70, 44, 19, 27, 50]]

@Suite struct DropoutTests {
    @Test func dropoutAppliesOnlyWhenInstalledAndIsSeeded() throws {
        let model = try ModelDirectory.loadCausalLM(fixtureDir("gpt2"))
        let batch = try Golden("gpt2").batch()
        let keys = (0..<batch.batch).map { (row: $0, sub: 0) }
        let rows = RowStreams(seed: 9, step: 0, keys: keys)
        let plain = try model(batch).value.scalars
        #expect(try model(batch).value.scalars == plain)
        model.trunk.dropout = Dropout(residual: 0.3, embedding: 0.3, rows: rows)
        let dropped = try model(batch).value.scalars
        model.trunk.dropout = Dropout(residual: 0.3, embedding: 0.3, rows: rows)
        let again = try model(batch).value.scalars
        model.trunk.dropout = Dropout(residual: 0.3, embedding: 0.3, rows: RowStreams(seed: 9, step: 1, keys: keys))
        let nextStep = try model(batch).value.scalars
        model.trunk.dropout = nil
        #expect(dropped != plain)
        #expect(dropped == again)
        #expect(nextStep != dropped, "another step must draw other masks")
        #expect(try model(batch).value.scalars == plain)
    }

    /// Rows 0, 1, 2 in one batch of T = 7, against rows 2 and 0 in a batch of T = 8 and row 1 alone
    /// (T = 3): each row's logits over its real tokens must agree to Float rounding (another T sums
    /// in another order, ~1e-8); a different mask would move them by ~0.1.
    @Test func aRowDrawsTheSameTrunkMasksInAnyLayout() throws {
        let model = try ModelDirectory.loadCausalLM(fixtureDir("gpt2"))
        func run(_ picks: [Int], time: Int) throws -> [[Float]] {
            let keys = picks.map { (row: $0, sub: 0) }
            model.trunk.dropout = Dropout(residual: 0.2, embedding: 0.2, rows: RowStreams(seed: 3, step: 4, keys: keys))
            defer { model.trunk.dropout = nil }
            let y = try model(try rightPadded(picks.map { sequences[$0] }, time: time)).value
            return realRows(y, lengths: picks.map { sequences[$0].count })
        }
        let whole = try run([0, 1, 2], time: 7)
        let swapped = try run([2, 0], time: 8)
        let alone = try run([1], time: 3)
        func close(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && maxDiff(a, b).0 <= 1e-5 }
        #expect(close(swapped[0], whole[2]) && close(swapped[1], whole[0]), "rows 2, 0 in another batch: other masks")
        #expect(close(alone[0], whole[1]), "row 1 alone: other masks")
        // The masks do act: without dropout row 1's logits differ.
        let plain = realRows(try model(try rightPadded([sequences[1]], time: 3)).value, lengths: [3])
        #expect(!close(plain[0], whole[1]))
    }

    /// LoRA's input dropout keyed by rows: the same rows in another batch layout, same masks.
    @Test func aRowDrawsTheSameLoRAMasksInAnyLayout() throws {
        let model = try ModelDirectory.loadCausalLM(fixtureDir("llama"))
        let adapters = try llamaAdaptersWithDropout(on: model, p: 0.3)
        func run(_ picks: [Int], time: Int, step: Int = 0) throws -> [[Float]] {
            adapters.setDropout(RowStreams(seed: 11, step: step, keys: picks.map { (row: $0, sub: 1) }))
            defer { adapters.setDropout(nil) }
            let y = try model(try rightPadded(picks.map { sequences[$0] }, time: time)).value
            return realRows(y, lengths: picks.map { sequences[$0].count })
        }
        let whole = try run([0, 1, 2], time: 7)
        let again = try run([0, 1, 2], time: 7)
        let other = try run([1, 2], time: 6)
        #expect(whole == again)
        func close(_ a: [Float], _ b: [Float]) -> Bool { a.count == b.count && maxDiff(a, b).0 <= 1e-5 }
        #expect(close(other[0], whole[1]) && close(other[1], whole[2]), "rows 1, 2 in another batch: other LoRA masks")
        #expect(try run([0, 1, 2], time: 7, step: 1) != whole, "another step: the same masks")
        let plain = realRows(try model(try rightPadded(sequences, time: 7)).value, lengths: sequences.map(\.count))
        #expect(!zip(plain, whole).allSatisfy(close), "LoRA dropout had no effect")
    }

    @Test func rowStreamsThatDoNotFitTheBatchAreAnError() throws {
        let x = Variable(Tensor(shape: [3, 4], repeating: 1))
        #expect(throws: TensorError.self) { try x.dropout(0.5, rows: RowStreams(seed: 1, rows: [1, 2]), site: 0) }
    }

    @Test func gpt2ConfigReadsItsDropout() throws {
        #expect(try ModelDirectory.loadConfig(fixtureDir("gpt2")).0.residualDropout == 0)
        let c = try TransformerConfig.parse(["model_type": "gpt2", "vocab_size": 10, "n_embd": 8, "n_layer": 1, "n_head": 2, "n_positions": 16],
                                           file: "config.json")
        #expect(c.residualDropout == 0.1 && c.embeddingDropout == 0.1)   // transformers' defaults
    }
}
