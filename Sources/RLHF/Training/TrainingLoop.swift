// TrainingLoop: the recipe every supervised trainer (SFT, reward model) runs:
//   1. sample micro-batches in seeded epochs  2. loss + backward, accumulated
//   3. clip, AdamW step on the schedule  4. log, evaluate, checkpoint on their cadences.
// Checkpoints hold the model, the optimizer moments and the trainer state (step, data
// position, metric history), so `resume` continues exactly where the run stopped; the output
// folder is a `RunDirectory`, and a non-finite loss, gradient or weight stops the run.
// The final model is published at the top of output_dir, as transformers' Trainer saves it.
import Data
import Foundation
import Models
import NN
import RunKit
import SafeTensors
import TensorCore

/// What a trainer plugs into the loop.
public protocol TrainingTask: AnyObject {
    associatedtype Batch
    /// Trainable parameters with stable names (checkpoint keys).
    var parameters: [(String, Variable)] { get }
    func batch(_ indices: [Int]) throws -> Batch
    /// The mean loss of one micro-batch (recorded on the current tape), metrics to average
    /// over the step, and the number of tokens it processed.
    func loss(_ batch: Batch) throws -> (loss: Variable, metrics: [(String, Double)], tokens: Int)
    /// Held-out metrics (named "eval/...").
    func evaluate() throws -> [(String, Double)]
    func saveModel(to directory: URL) throws
    func loadModel(from directory: URL) throws
    /// Training-only randomness (dropout) for the next micro-batch; nil switches it off.
    func setTrainingRNG(_ rng: Philox?)
    /// What `run.json` records so a resume with another model, data or settings is refused.
    func runIdentityFields() -> [String: String]
}

extension TrainingTask {
    public func setTrainingRNG(_ rng: Philox?) {}
    public func runIdentityFields() -> [String: String] { [:] }
}

extension TrainingTask {
    /// Runs the loop over `trainCount` examples, then publishes the final model at the top of
    /// `<output_dir>` (each file atomic, weights last) once every step has run.
    public func runTraining(args: TrainingArguments, trainCount: Int, resume: Bool, stopAfter: Int?,
                            log: @escaping (String) -> Void, progress: ProgressReporter?) throws -> TrainingSummary {
        let loop = TrainingLoop(task: self, args: args, trainIndices: Array(0..<trainCount), log: log)
        loop.progress = progress
        let summary = try loop.run(resume: resume, stopAfter: stopAfter)
        if summary.steps >= loop.totalSteps {
            if let bad = FiniteCheck.firstNonFinite(parameters.map { ("weights \($0.0)", $0.1.value) }) {
                throw NonFiniteTrainingError(unit: "step", step: summary.steps, what: bad, lastGood: loop.lastGoodCheckpoint)
            }
            try DirectoryPublish.publish(into: URL(fileURLWithPath: args.outputDir), pausePoint: "final-swap") { try saveModel(to: $0) }
        }
        return summary
    }
}

public struct TrainingSummary: Sendable {
    public var steps: Int
    public var history: [MetricsRecord]
    public var finalEval: [(String, Double)]
}

public final class TrainingLoop<Task: TrainingTask> {
    public let task: Task
    public let args: TrainingArguments
    public let trainIndices: [Int]
    /// Progress and notices (the library never prints).
    public var log: (String) -> Void
    public var progress: ProgressReporter?
    /// The newest complete checkpoint of this run, for error messages.
    var lastGoodCheckpoint: String?

    public init(task: Task, args: TrainingArguments, trainIndices: [Int], log: @escaping (String) -> Void = { _ in }) {
        self.task = task; self.args = args; self.trainIndices = trainIndices; self.log = log
    }

    public var stepsPerEpoch: Int {
        let batches = (trainIndices.count + args.batchSize - 1) / args.batchSize
        return max(1, batches / args.gradientAccumulationSteps)
    }

    /// max_steps, else steps per epoch x epochs (saturating: validated arguments keep it far below Int.max).
    public var totalSteps: Int {
        if args.maxSteps > 0 { return args.maxSteps }
        let (n, overflow) = stepsPerEpoch.multipliedReportingOverflow(by: args.numTrainEpochs)
        return overflow ? Int.max : n
    }

    /// Runs to `totalSteps` (or stops after `stopAfter` steps, for tests of resumption).
    public func run(resume: Bool = false, stopAfter: Int? = nil) throws -> TrainingSummary {
        let run = try RunDirectory.open(args.outputDir, identity: RunIdentity(fields: task.runIdentityFields()),
                                        overwrite: args.overwriteOutputDir, resume: resume, log: log)
        let out = run.url
        let named = task.parameters
        let params = named.map(\.1)
        // transformers' Trainer: no weight decay on biases and normalisation weights.
        let decays = named.map { !$0.0.hasSuffix(".bias") && !$0.0.contains("Norm") }
        let optimizer = AdamW(parameters: params, config: args.adamW, decays: decays)
        let schedule = args.schedule(totalSteps: totalSteps)
        var sampler = try EpochSampler(indices: trainIndices, batchSize: args.batchSize, seed: args.seed)
        var step = 0
        var history: [MetricsRecord] = []

        if resume, let ckpt = try run.latestCheckpoint() {
            let state = try TrainerState.load(from: ckpt.url)
            try task.loadModel(from: ckpt.url.appendingPathComponent("model"))
            try OptimizerCheckpoint.load(optimizer, names: named.map(\.0), from: ckpt.url, state: state)
            if let pos = state.dataPosition {
                sampler = try EpochSampler(indices: trainIndices, batchSize: args.batchSize, seed: args.seed,
                                       position: try pos.decode(DataPosition.self))
            }
            step = state.step
            history = state.metricsHistory
            log("resumed from \(ckpt.url.path) at step \(step)")
        } else if resume {
            log("no complete checkpoint of this run in \(out.path): starting from step 0")
        }
        lastGoodCheckpoint = try run.latestCheckpoint()?.url.path
        if let note = args.precision.fallbackNote() { log(note) }
        // Lines past the resumed step are rewritten by this run (a new run keeps none).
        try run.cutJSONL("metrics.jsonl", key: "step", through: step)

        let sinks = MetricsFanout([try JSONLMetricsWriter(url: out.appendingPathComponent("metrics.jsonl")),
                                   try TensorBoardWriter(directory: out.appendingPathComponent("tensorboard"))])
        let end = min(totalSteps, stopAfter.map { step + $0 } ?? totalSteps)
        var window: [String: (Double, Int)] = [:]
        var windowTokens = 0, windowStart = Date()

        while step < end {
            // A NaN or infinity in the loss or the gradients stops the run before the optimizer
            // step would poison the weights; the last checkpoint stays as it was.
            func stop(_ what: String) -> NonFiniteTrainingError {
                NonFiniteTrainingError(unit: "step", step: step + 1, what: what, lastGood: lastGoodCheckpoint)
            }
            // 1-2. Micro-batches, each loss scaled so the accumulated gradient is the mean.
            var stepMetrics: [String: Double] = [:]
            var norm = Float.nan
            do {
                for micro in 0..<args.gradientAccumulationSteps {
                    let (indices, _) = sampler.next()
                    let batch = try task.batch(indices)
                    // Dropout masks are a function of (seed, step, micro-batch): resumes repeat them.
                    task.setTrainingRNG(Philox(seed: args.seed, stream: UInt64(step) &* 4096 &+ UInt64(micro) &+ 1))
                    defer { task.setTrainingRNG(nil) }
                    let tape = Tape()
                    let (loss, metrics, tokens) = try args.precision.run { try tape.record { try task.loss(batch) } }
                    let scaled = try tape.record { loss.scaled(by: 1 / Float(args.gradientAccumulationSteps)) }
                    try tape.backward(scaled)
                    stepMetrics["train/loss", default: 0] += Double(loss.value.item) / Double(args.gradientAccumulationSteps)
                    for (k, v) in metrics { stepMetrics[k, default: 0] += v / Double(args.gradientAccumulationSteps) }
                    windowTokens += tokens
                }
                // 3. Clip and step (losses and clipGradNorm throw on NaN/Inf themselves; the checks
                // here cover what they leave: an unclipped gradient).
                let loss = stepMetrics["train/loss"] ?? 0
                guard loss.isFinite else { throw stop("train/loss = \(loss)") }
                if args.maxGradNorm > 0 {
                    norm = try clipGradNorm(params, maxNorm: args.maxGradNorm)
                    guard norm.isFinite else { throw stop("train/grad_norm = \(norm)") }
                } else if let bad = FiniteCheck.firstNonFinite(FiniteCheck.gradients(named)) {
                    throw stop(bad)
                }
            } catch let TensorError.nonFinite(op, detail) {
                throw stop("value in \(op) (\(detail))")
            }
            let multiplier = schedule.multiplier(step: step)
            optimizer.step(lrMultiplier: multiplier)
            for p in params { p.zeroGrad() }
            step += 1
            stepMetrics["train/lr"] = Double(args.learningRate * multiplier)
            if args.maxGradNorm > 0 { stepMetrics["train/grad_norm"] = Double(norm) }
            for (k, v) in stepMetrics { window[k, default: (0, 0)].0 += v; window[k, default: (0, 0)].1 += 1 }

            // 4. Log, evaluate, checkpoint.
            var scalars: [MetricsRecord.Scalar] = []
            if step % args.loggingSteps == 0 || step == end {
                let elapsed = Date().timeIntervalSince(windowStart)
                scalars += window.keys.sorted().map { MetricsRecord.Scalar($0, window[$0]!.0 / Double(window[$0]!.1)) }
                scalars.append(.init("train/tokens_per_s", Double(windowTokens) / max(elapsed, 1e-9)))
                scalars.append(.init("train/epoch", Double(sampler.position.epoch) + Double(sampler.position.index) / Double(max(1, trainIndices.count))))
                window = [:]; windowTokens = 0; windowStart = Date()
            }
            if (args.evalSteps > 0 && step % args.evalSteps == 0) || step == totalSteps {
                scalars += try args.precision.run { try task.evaluate() }.map { MetricsRecord.Scalar($0.0, $0.1) }
            }
            if !scalars.isEmpty {
                let record = MetricsRecord(step: step, scalars: scalars)
                history.append(record)
                try sinks.log(record)
                try sinks.flush()
                progress?.update(step, metrics: KeyValuePairs(dictionaryLiteral: ("loss", stepMetrics["train/loss"] ?? .nan)))
            }
            if args.saveSteps > 0 && step % args.saveSteps == 0 && step < totalSteps {
                if let bad = FiniteCheck.firstNonFinite(FiniteCheck.state(named, optimizer: optimizer)) {
                    throw NonFiniteTrainingError(unit: "step", step: step, what: bad, lastGood: lastGoodCheckpoint)
                }
                let state = TrainerState(step: step, epoch: sampler.position.epoch,
                                         dataPosition: try OpaqueCodable(sampler.position), metricsHistory: history)
                let written = try run.writeCheckpoint(step: step) { dir in
                    try task.saveModel(to: dir.appendingPathComponent("model"))
                    try OptimizerCheckpoint.save(optimizer, names: named.map(\.0), to: dir)
                    var s = state
                    s.extra["optimizer_steps"] = try OpaqueCodable(optimizer.steps)
                    try s.save(in: dir)
                }
                lastGoodCheckpoint = written.path
                _ = try run.prune(keepLast: args.saveTotalLimit)
            }
        }
        progress?.finish()
        let finalEval = history.last.map { r in r.scalars.filter { $0.name.hasPrefix("eval/") }.map { ($0.name, $0.value) } } ?? []
        return TrainingSummary(steps: step, history: history, finalEval: finalEval)
    }
}

/// AdamW moments as safetensors (`exp_avg.<name>`, `exp_avg_sq.<name>`), step counts in the
/// trainer state.
enum OptimizerCheckpoint {
    static func save(_ opt: AdamW, names: [String], to dir: URL) throws {
        var tensors: [(name: String, tensor: Tensor)] = []
        for (i, n) in names.enumerated() {
            if let m = opt.m[i] { tensors.append(("exp_avg.\(n)", m)) }
            if let v = opt.v[i] { tensors.append(("exp_avg_sq.\(n)", v)) }
        }
        try SafeTensorsWriter.write(tensors, to: dir.appendingPathComponent("optimizer.safetensors").path)
    }

    static func load(_ opt: AdamW, names: [String], from dir: URL, state: TrainerState) throws {
        let file = try SafeTensorsFile(path: dir.appendingPathComponent("optimizer.safetensors").path)
        let steps = try state.extra["optimizer_steps"]?.decode([Int].self) ?? names.map { _ in 0 }
        var m: [Tensor?] = [], v: [Tensor?] = []
        for n in names {
            m.append(file.contains("exp_avg.\(n)") ? try file.tensor(named: "exp_avg.\(n)") : nil)
            v.append(file.contains("exp_avg_sq.\(n)") ? try file.tensor(named: "exp_avg_sq.\(n)") : nil)
        }
        try opt.restore(steps: steps, m: m, v: v)
    }
}
