// AdamW, gradient clipping and LR schedules against PyTorch/transformers goldens
// (Fixtures/optim_golden.json, written by Reference/make_core_fixtures.py), the optimizer
// passes on pools of 1 and 2 threads.
import Foundation
import NN
import TensorCore
import Testing

nonisolated(unsafe) private let fixture: [String: Any] = {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/optim_golden.json")
    let data = try! Data(contentsOf: url)
    return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
}()

private func floats(_ any: Any?) -> [Float] { (any as! [NSNumber]).map { $0.floatValue } }

private func expectClose(_ ours: [Float], _ golden: [Float], rtol: Float, _ what: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(ours.count == golden.count, "\(what): \(ours.count) vs \(golden.count) values", sourceLocation: sourceLocation)
    var worst = (index: 0, err: Float(0))
    for i in 0..<min(ours.count, golden.count) {
        let err = abs(ours[i] - golden[i]) / max(1e-3, abs(golden[i]))
        if err > worst.err { worst = (i, err) }
    }
    #expect(worst.err <= rtol, "\(what): worst rel err \(worst.err) at \(worst.index): ours \(ours[worst.index]) vs torch \(golden[worst.index])",
            sourceLocation: sourceLocation)
}

private let pools = [1: ThreadPool(threadCount: 1), 2: ThreadPool(threadCount: 2)]

@Suite struct OptimGoldenTests {
    @Test(arguments: 0..<3, [1, 2])
    func adamWMatchesTorch(caseIndex: Int, threads: Int) throws {
        let c = (fixture["adamw"] as! [[String: Any]])[caseIndex]
        let p = makeParameter(try Tensor(shape: [3, 4], data: floats(c["p0"])))
        let q = makeParameter(try Tensor(shape: [5], data: floats(c["q0"])))
        let cfg = AdamWConfig(lr: (c["lr"] as! NSNumber).floatValue, beta1: (c["beta1"] as! NSNumber).floatValue,
                              beta2: (c["beta2"] as! NSNumber).floatValue, eps: (c["eps"] as! NSNumber).floatValue,
                              weightDecay: (c["weight_decay"] as! NSNumber).floatValue)
        let opt = AdamW(parameters: [p, q], config: cfg)
        let grads = c["grads"] as! [[String: Any]], after = c["after"] as! [[String: Any]]
        for s in 0..<grads.count {
            p.grad = try Tensor(shape: [3, 4], data: floats(grads[s]["p"]))
            q.grad = try Tensor(shape: [5], data: floats(grads[s]["q"]))
            opt.step(pool: pools[threads]!)
            expectClose(p.value.scalars, floats(after[s]["p"]), rtol: 2e-6, "case \(caseIndex) step \(s + 1) p, \(threads)t")
            expectClose(q.value.scalars, floats(after[s]["q"]), rtol: 2e-6, "case \(caseIndex) step \(s + 1) q, \(threads)t")
        }
    }

    @Test(arguments: 0..<2, [1, 2])
    func clipGradNormMatchesTorch(caseIndex: Int, threads: Int) throws {
        let c = (fixture["clip"] as! [[String: Any]])[caseIndex]
        let a = makeParameter(Tensor(zeros: [3, 4])), b = makeParameter(Tensor(zeros: [7]))
        a.grad = try Tensor(shape: [3, 4], data: floats(c["a"]))
        b.grad = try Tensor(shape: [7], data: floats(c["b"]))
        let norm = try clipGradNorm([a, b], maxNorm: (c["max_norm"] as! NSNumber).floatValue, pool: pools[threads]!)
        expectClose([norm], [(c["total_norm"] as! NSNumber).floatValue], rtol: 1e-6, "total norm")
        expectClose(a.grad!.scalars, floats(c["a_after"]), rtol: 1e-6, "a clipped")
        expectClose(b.grad!.scalars, floats(c["b_after"]), rtol: 1e-6, "b clipped")
    }

    @Test func nonFiniteGradientIsNamed() throws {
        let a = makeParameter(Tensor(zeros: [2]), name: "h.0.mlp.weight")
        a.grad = try Tensor(shape: [2], data: [1, .nan])
        #expect { try clipGradNorm([a], maxNorm: 1) } throws: { "\($0)".contains("h.0.mlp.weight") }
    }

    @Test func schedulesMatchTransformers() {
        for (key, make) in [("linear_schedule", { LRSchedule.linear(warmupSteps: $0, totalSteps: $1) }),
                            ("cosine_schedule", { LRSchedule.cosine(warmupSteps: $0, totalSteps: $1) })] {
            let c = fixture[key] as! [String: Any]
            let s = make((c["warmup"] as! NSNumber).intValue, (c["total"] as! NSNumber).intValue)
            let golden = floats(c["multipliers"])
            let ours = (0..<golden.count).map { s.multiplier(step: $0) }
            for i in 0..<golden.count {
                #expect(abs(ours[i] - golden[i]) <= 1e-6, "\(key) step \(i): ours \(ours[i]) vs transformers \(golden[i])")
            }
        }
    }
}
