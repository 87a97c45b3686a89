// Parity with transformers: logits, loss, every parameter gradient and the
// sequence-classification scores of tiny GPT-2 / Llama (GQA, untied, llama3 RoPE) /
// Qwen2 (q/k/v bias, tied) checkpoints on a left-padded batch. Goldens come from
// Reference/make_model_fixtures.py.
import Foundation
import Models
import NN
import SafeTensors
import TensorCore
import Testing

func fixtureDir(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
}

struct Golden {
    let file: SafeTensorsFile
    let json: [String: Any]
    init(_ name: String) throws {
        file = try SafeTensorsFile(path: fixtureDir(name) + "/golden.safetensors")
        json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: fixtureDir(name) + "/golden.json"))) as! [String: Any]
    }
    func ints(_ n: String) throws -> [Int32] { try file.integers(named: n).map { Int32($0) } }
    func batch() throws -> TokenBatch {
        let shape = try file.entry(named: "input_ids").shape
        return try TokenBatch(ids: ints("input_ids"), batch: shape[0], time: shape[1],
                              attentionMask: ints("attention_mask").map(Float.init), positions: ints("position_ids"))
    }
}

/// Max |a - b| over the elements where `keep` is true, with the worst index.
func maxDiff(_ a: [Float], _ b: [Float], keep: (Int) -> Bool = { _ in true }) -> (Float, Int) {
    var worst: (Float, Int) = (0, -1)
    for i in 0..<min(a.count, b.count) where keep(i) {
        let d = abs(a[i] - b[i])
        if d > worst.0 || d.isNaN { worst = (d, i) }
    }
    return worst
}

@Suite struct ParityTests {
    @Test(arguments: ["gpt2", "llama", "qwen2"])
    func logitsLossAndGradientsMatchTransformers(name: String) throws {
        let golden = try Golden(name)
        let model = try ModelDirectory.loadCausalLM(fixtureDir(name))
        let batch = try golden.batch()
        let v = model.config.vocabSize

        let tape = Tape()
        let logits = try tape.record { try model(batch) }
        let ref = try golden.file.tensor(named: "logits").scalars
        let (d, at) = maxDiff(logits.value.scalars, ref) { batch.attentionMask[$0 / v] != 0 }
        #expect(d <= 1e-4, "\(name) logits: max |diff| \(d) at flat index \(at): ours \(logits.value.scalars[max(at, 0)]) vs HF \(ref[max(at, 0)])")

        let labels = try golden.ints("labels")
        let loss = try tape.record { try model.loss(batch, labels: labels) }
        let hfLoss = Float((golden.json["loss"] as! NSNumber).doubleValue)
        #expect(abs(loss.value.item - hfLoss) <= 1e-5, "\(name) loss: ours \(loss.value.item) vs HF \(hfLoss)")

        try tape.backward(loss)
        for (hfName, tensor) in ModelDirectory.stateDict(model, family: model.config.family) {
            _ = tensor
            let param = model.namedParameters().first { WeightMap.hfName($0.0, family: model.config.family).name == hfName }!
            let transposed = WeightMap.hfName(param.0, family: model.config.family).transposed
            var ours = try #require(param.1.grad, "\(name): no gradient for \(hfName)")
            if transposed { ours = Kernels.permute(ours, [1, 0]) }
            let theirs = try golden.file.tensor(named: "grad." + hfName).scalars
            let scale = theirs.map(abs).max() ?? 0
            let (gd, gi) = maxDiff(ours.scalars, theirs)
            #expect(gd <= 1e-3 * max(scale, 1e-6), "\(name) grad \(hfName): max |diff| \(gd) (max |grad| \(scale)) at \(gi)")
        }
    }

    @Test(arguments: ["gpt2", "llama", "qwen2"])
    func rewardScoresMatchSequenceClassification(name: String) throws {
        let golden = try Golden(name)
        let cls = try SafeTensorsFile(path: fixtureDir(name + "-cls") + "/golden.safetensors")
        let (model, fresh) = try ModelDirectory.loadScalarHead(fixtureDir(name + "-cls"))
        #expect(!fresh)
        let batch = try golden.batch()
        let scores = try model.lastTokenScores(batch).value.scalars
        let hfScores = try cls.tensor(named: "scores").scalars
        let (d, _) = maxDiff(scores, hfScores)
        #expect(d <= 1e-4, "\(name) scores \(scores) vs HF \(hfScores)")
        let values = try model.values(batch).value.scalars
        let (dv, at) = maxDiff(values, try cls.tensor(named: "per_token").scalars) { batch.attentionMask[$0] != 0 }
        #expect(dv <= 1e-4, "\(name) per-token values: max |diff| \(dv) at \(at)")
    }

    @Test(arguments: ["gpt2", "llama", "qwen2"])
    func cachedDecodingEqualsFullForward(name: String) throws {
        let golden = try Golden(name)
        let model = try ModelDirectory.loadCausalLM(fixtureDir(name))
        let batch = try golden.batch()
        let full = try model(batch).value.scalars
        let v = model.config.vocabSize
        // Prefill the first 4 positions, then one token at a time.
        let cache = KVCache(config: model.config, batch: batch.batch, capacity: batch.time)
        var got = [Float](repeating: 0, count: full.count)
        var start = 0
        for len in [4, 1, 1, 1] {
            var ids: [Int32] = [], mask: [Float] = [], pos: [Int32] = []
            for b in 0..<batch.batch {
                for t in start..<(start + len) {
                    ids.append(batch.ids[b * batch.time + t]); mask.append(batch.attentionMask[b * batch.time + t])
                    pos.append(batch.positions[b * batch.time + t])
                }
            }
            let step = try TokenBatch(ids: ids, batch: batch.batch, time: len, attentionMask: mask, positions: pos)
            let out = try model(step, cache: cache).value.scalars
            for b in 0..<batch.batch {
                for t in 0..<len {
                    let dst = (b * batch.time + start + t) * v, src = (b * len + t) * v
                    for j in 0..<v { got[dst + j] = out[src + j] }
                }
            }
            start += len
        }
        let (d, at) = maxDiff(got, full) { batch.attentionMask[$0 / v] != 0 }
        #expect(d <= 1e-5, "\(name) cached vs full logits: max |diff| \(d) at \(at)")
    }
}
