// `rlhf-bench dataparallel` (run under `mpirun -np N`): one data-parallel SFT optimizer step of a
// GPT-2-shaped model (random weights) as the trainers run it — each rank's shard of a global
// batch, forward + backward, GradientAllreduce (sum), clip, AdamW — against the reference measured
// in the same run: every rank, concurrently and without collectives, steps the whole global batch
// with its own threads (a 1-rank run on one rank's share of the machine). Efficiency =
// reference / (N x data-parallel step). Leaves out data loading and overlap of the allreduce.
import ArgumentParser
import Distributed
import Foundation
import Models
import NN
import TensorCore

struct DataParallelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dataparallel",
        abstract: "Data-parallel SFT step at N ranks (run under mpirun) against a 1-rank step of the same global batch.")

    enum Shape: String, ExpressibleByArgument, CaseIterable {
        /// GPT-2 small (124M).
        case gpt2
        /// GPT-2-small-ish: GPT-2's vocabulary and width, 4 layers (~60M), for loaded machines.
        case gpt2Layers4 = "gpt2-4l"
        /// A tiny config for a smoke run.
        case tiny
    }

    @Option(help: "Timed steps (the slowest rank's median is printed) after one warm-up step.") var runs = 3
    @Option(help: "Global batch (rows per optimizer step, split over the ranks).") var batch = 4
    @Option(help: "Sequence length.") var time = 128
    @Option(help: "Model shape: gpt2, gpt2-4l or tiny.") var model: Shape = .gpt2Layers4
    @Option(help: "Elements per GradientAllreduce bucket.") var bucket = 1 << 20

    func run() throws {
        guard runs > 0, batch > 0, time > 1, bucket > 0 else { throw ValidationError("--runs, --batch, --bucket must be > 0, --time > 1") }
        let comm = try Launch.communicator()
        let n = comm.size
        guard batch >= n else { throw ValidationError("--batch \(batch) is smaller than the \(n) ranks") }
        let config: TransformerConfig
        switch model {
        case .gpt2: config = .gpt2()
        case .gpt2Layers4: config = .gpt2(vocabSize: 50257, hiddenSize: 768, layers: 4, heads: 12)
        case .tiny: config = .gpt2(vocabSize: 512, hiddenSize: 128, layers: 2, heads: 4)
        }
        var initializer = WeightInit.random(seed: 1)   // the same weights on every rank
        let lm = CausalLM(config: config, initializer: &initializer)
        let params = lm.parameters()
        let optimizer = AdamW(parameters: params, config: AdamWConfig(lr: 1e-5, weightDecay: 0.01))
        var rng = Philox(seed: 2)
        let t = time
        let ids = (0..<(batch * t)).map { _ in Int32(rng.nextUInt32() % UInt32(config.vocabSize)) }
        func rows(_ r: Range<Int>) throws -> (TokenBatch, [Int32]) {
            let slice = Array(ids[(r.lowerBound * t)..<(r.upperBound * t)])
            return (try TokenBatch(ids: slice, batch: r.count, time: t), slice)
        }
        let reducer = try GradientAllreduce(parameters: params, communicator: comm, reduction: .sum, bucketElements: bucket)
        let mine = try GlobalBatch(size: batch, ranks: n, uneven: .spread).rows(ofRank: comm.rank)
        let (localInput, localLabels) = try rows(mine)
        let (wholeInput, wholeLabels) = try rows(0..<batch)

        /// One optimizer step; returns (step seconds, allreduce seconds).
        func step(_ input: TokenBatch, _ labels: [Int32], share: Float, reduce: Bool) throws -> (Double, Double) {
            lm.zeroGrad()
            let t0 = now()
            let tape = Tape()
            let loss = try tape.record { try lm.loss(input, labels: labels).scaled(by: share) }
            try tape.backward(loss)
            let t1 = now()
            if reduce { try reducer.reduce() }
            let t2 = now()
            try clipGradNorm(params, maxNorm: 1)
            optimizer.step()
            return (now() - t0, t2 - t1)
        }
        func slowest(_ x: Double) throws -> Double { try comm.allreduce(x, .max) }

        // 1. Reference: the whole global batch on every rank at once, no collectives between steps.
        var reference: [Double] = []
        try comm.barrier()
        for i in 0..<(runs + 1) {
            let (s, _) = try step(wholeInput, wholeLabels, share: 1, reduce: false)
            if i > 0 { reference.append(s) }
        }
        let ref = try slowest(median(reference))
        // 2. Data parallel: this rank's shard, gradients summed over the ranks.
        var dp: [Double] = [], ar: [Double] = []
        try comm.barrier()
        for i in 0..<(runs + 1) {
            let (s, a) = try step(localInput, localLabels, share: Float(mine.count) / Float(batch), reduce: true)
            if i > 0 { dp.append(s); ar.append(a) }
        }
        let (dpStep, arStep) = (try slowest(median(dp)), try slowest(median(ar)))
        guard comm.isRoot else { return }
        let name = "dataparallel_\(model.rawValue)_n\(n)_b\(batch)_t\(t)"
        printFigure("dataparallel_ranks", Double(n), "")
        printFigure("dataparallel_threads_per_rank", Double(ThreadPool.shared.threadCount), "")
        printFigure("\(name)_params", Double(lm.parameterCount) / 1e6, "M")
        printFigure("\(name)_reference_1rank_step_seconds", ref, "s")
        printFigure("\(name)_step_seconds", dpStep, "s")
        printFigure("\(name)_allreduce_seconds", arStep, "s")
        printFigure("\(name)_tokens_per_s", Double(batch * t) / dpStep, "tokens/s")
        printFigure("\(name)_speedup_vs_1rank", ref / dpStep, "x")
        printFigure("\(name)_efficiency", ref / dpStep / Double(n), "")
    }
}
