// SupervisedSteps: the step every supervised trainer (SFT, reward model, DPO) runs in the
// RunLoop — seeded micro-batches, accumulated loss and backward, clipping, AdamW on the
// schedule — and its checkpoint. A trainer supplies a `TrainingTask` (batches, the loss,
// evaluation, saving its model). The final model is published at the top of output_dir, as
// transformers' Trainer saves it. Under MPI each rank takes its shard of every global
// micro-batch and the gradients are summed (docs/distributed.md).
import Data
import Distributed
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
    /// What `loss` and its metrics are means over (scored tokens for SFT, comparisons for the
    /// pair losses): data parallelism weights each rank's mean by its share of the global count.
    func normalizerCount(_ batch: Batch) -> Int
    /// Held-out metrics (named "eval/...").
    func evaluate() throws -> [(String, Double)]
    func saveModel(to directory: URL) throws
    func loadModel(from directory: URL) throws
    /// Training-only randomness (dropout) for the next micro-batch, one stream per model row; nil: off.
    func setTrainingRNG(_ rng: RowStreams?)
    /// For each row of the model's input, the example of `batch` it comes from and its index among
    /// that example's rows (defaults for `CollatedBatch` and `PreferenceBatch` in DropoutRows.swift).
    func dropoutRows(_ batch: Batch) -> [(example: Int, sub: Int)]
    /// What `run.json` records so a resume with another model, data or settings is refused.
    func runIdentityFields() -> [String: String]
}

extension TrainingTask {
    public func setTrainingRNG(_ rng: RowStreams?) {}
    public func runIdentityFields() -> [String: String] { [:] }
}

extension TrainingTask {
    /// Runs the steps in the RunLoop over `trainCount` examples; the final model is published at
    /// the top of `<output_dir>` (each file atomic, weights last) once every step has run.
    /// With a `communicator` of N ranks, `args.batchSize` stays the global micro-batch: each rank
    /// trains on its shard and the result equals a 1-rank run up to Float rounding.
    public func runTraining(args: TrainingArguments, trainCount: Int, resume: Bool, stopAfter: Int?,
                            log: @escaping (String) -> Void, progress: ProgressReporter?,
                            communicator: any Communicator = SingleProcess()) throws -> TrainingSummary {
        let steps = try SupervisedSteps(task: self, args: args, trainIndices: Array(0..<trainCount), communicator: communicator)
        let cadence = RunCadence(outputDir: args.outputDir, overwrite: args.overwriteOutputDir, loggingSteps: args.loggingSteps,
                                 evalSteps: args.evalSteps, saveSteps: args.saveSteps, saveTotalLimit: args.saveTotalLimit)
        let summary = try RunLoop.run(steps, cadence: cadence, resume: resume, stopAfter: stopAfter, log: log, progress: progress,
                                      communicator: communicator)
        let finalEval = summary.history.last.map { r in r.scalars.filter { $0.name.hasPrefix("eval/") }.map { ($0.name, $0.value) } } ?? []
        return TrainingSummary(steps: summary.units, history: summary.history, finalEval: finalEval)
    }
}

public struct TrainingSummary: Sendable {
    public var steps: Int
    public var history: [MetricsRecord]
    public var finalEval: [(String, Double)]
}

/// One optimizer step of a `TrainingTask` per unit of the RunLoop:
///   1. sample global micro-batches in seeded epochs; this rank takes its shard
///   2. loss + backward, accumulated, each rank's mean weighted by its share of the global count
///   3. sum the gradients over ranks  4. clip, AdamW step on the schedule.
/// Its checkpoint holds the model, the optimizer moments and the trainer state (step, data
/// position), so a resume continues exactly where the run stopped.
final class SupervisedSteps<Task: TrainingTask>: RunTask {
    let task: Task
    let args: TrainingArguments
    let trainIndices: [Int]
    let named: [(String, Variable)]
    let optimizer: AdamW
    let schedule: LRSchedule
    var sampler: EpochSampler
    var step = 0
    let communicator: any Communicator
    let reducer: GradientAllreduce

    init(task: Task, args: TrainingArguments, trainIndices: [Int], communicator: any Communicator = SingleProcess()) throws {
        self.task = task; self.args = args; self.trainIndices = trainIndices
        self.communicator = communicator
        named = task.parameters
        reducer = try GradientAllreduce(parameters: named.map(\.1), communicator: communicator, reduction: .sum)
        // transformers' Trainer: no weight decay on biases and normalisation weights.
        let decays = named.map { !$0.0.hasSuffix(".bias") && !$0.0.contains("Norm") }
        optimizer = AdamW(parameters: named.map(\.1), config: args.adamW, decays: decays)
        sampler = try EpochSampler(indices: trainIndices, batchSize: args.batchSize, seed: args.seed)
        totalUnits = Self.totalSteps(args, trainCount: trainIndices.count)
        schedule = args.schedule(totalSteps: totalUnits)
    }

    /// max_steps, else steps per epoch x epochs (saturating: validated arguments keep it far below Int.max).
    static func totalSteps(_ args: TrainingArguments, trainCount: Int) -> Int {
        if args.maxSteps > 0 { return args.maxSteps }
        let batches = (trainCount + args.batchSize - 1) / args.batchSize
        let stepsPerEpoch = max(1, batches / args.gradientAccumulationSteps)
        let (n, overflow) = stepsPerEpoch.multipliedReportingOverflow(by: args.numTrainEpochs)
        return overflow ? Int.max : n
    }

    let totalUnits: Int

    var unitName: String { "step" }
    var completedUnits: Int { step }
    var throughputMetric: String? { "train/tokens_per_s" }
    var progressMetrics: [(String, String)] { [("loss", "train/loss")] }
    var mustBeFinite: Set<String> { [] }
    var unitKeyedFiles: [(file: String, key: String)] { [] }
    func runIdentityFields() -> [String: String] { task.runIdentityFields() }
    func evaluate() throws -> [(String, Double)] { try args.precision.run { try task.evaluate() } }
    func firstNonFinite() -> String? { FiniteCheck.firstNonFinite(FiniteCheck.state(named, optimizer: optimizer)) }

    /// This rank's slice of a global micro-batch of `count` rows: contiguous, the first ranks
    /// one row more when uneven; empty on the last ranks when there are fewer rows than ranks.
    func shard(_ count: Int) throws -> Range<Int> {
        let (n, r) = (communicator.size, communicator.rank)
        guard count >= n else { return r < count ? r..<(r + 1) : count..<count }
        return try GlobalBatch(size: count, ranks: n, uneven: .spread).rows(ofRank: r)
    }

    func runUnit() throws -> UnitReport {
        let params = named.map(\.1)
        // 1-2. Micro-batches. Each loss is a mean over this rank's share of the micro-batch's
        // count (tokens, comparisons): weighted by local/global count and 1/accumulation, the
        // gradients summed over ranks are the 1-rank gradient of the global mean.
        var metrics: [String: Double] = [:]
        var tokens = 0
        for micro in 0..<args.gradientAccumulationSteps {
            let (indices, _) = sampler.next()
            let rows = try shard(indices.count)
            let mine = Array(indices[rows])
            let batch = mine.isEmpty ? nil : try task.batch(mine)
            let count = batch.map(task.normalizerCount) ?? 0
            let global = try communicator.allreduce(Int64(count), .sum)
            guard global > 0 else {
                throw NonFiniteValue(what: "train/loss: micro-batch \(micro + 1) of step \(step + 1) has nothing to score "
                                     + "(no target token or comparison)")
            }
            metrics["train/loss", default: 0] += 0  // present on every rank, even one with nothing to score
            guard let batch, count > 0 else { continue }
            // Exactly 1 with one rank, so a 1-rank run computes what it did before data parallelism.
            let share = Float(count) / Float(global)
            // Dropout masks are a function of (seed, step, row of the step's global batch), not of the
            // rank or the micro-batch layout: any N, any accumulation split and resumes draw the same.
            let firstRow = micro * args.batchSize + rows.lowerBound
            let keys = task.dropoutRows(batch).map { (row: firstRow + $0.example, sub: $0.sub) }
            task.setTrainingRNG(RowStreams(seed: args.seed, step: step, keys: keys))
            defer { task.setTrainingRNG(nil) }
            let tape = Tape()
            let (loss, m, t) = try args.precision.run { try tape.record { try task.loss(batch) } }
            let scaled = try tape.record { loss.scaled(by: share / Float(args.gradientAccumulationSteps)) }
            try tape.backward(scaled)
            let weight = Double(count) / Double(global) / Double(args.gradientAccumulationSteps)
            metrics["train/loss", default: 0] += Double(loss.value.item) * weight
            for (k, v) in m { metrics[k, default: 0] += v * weight }
            tokens += t
        }
        // 3. Sum over ranks: gradients (bucketed), metrics (already weighted), tokens.
        try reducer.reduce()
        metrics = try globalSums(metrics)
        tokens = Int(try communicator.allreduce(Int64(tokens), .sum))
        // 4. Clip and step. A NaN or infinity in the loss or the gradients stops the run before
        // the optimizer step would poison the weights (losses and the gradient norm throw on
        // NaN/Inf themselves; the checks here cover what they leave: an unclipped gradient).
        let loss = metrics["train/loss"] ?? 0
        guard loss.isFinite else { throw NonFiniteValue(what: "train/loss = \(loss)") }
        let multiplier = schedule.multiplier(step: step)
        if args.maxGradNorm > 0 {
            // Clipping fused into AdamW: same bits as clipGradNorm then step; throws before any update.
            let norm = try optimizer.clipAndStep(maxNorm: args.maxGradNorm, lrMultiplier: multiplier)
            metrics["train/grad_norm"] = Double(norm)
        } else {
            if let bad = FiniteCheck.firstNonFinite(FiniteCheck.gradients(named)) { throw NonFiniteValue(what: bad) }
            optimizer.step(lrMultiplier: multiplier)
        }
        for p in params { p.zeroGrad() }
        step += 1
        metrics["train/lr"] = Double(args.learningRate * multiplier)
        let epoch = Double(sampler.position.epoch) + Double(sampler.position.index) / Double(max(1, trainIndices.count))
        return UnitReport(averaged: metrics.map { ($0.key, $0.value) }, latest: [("train/epoch", epoch)], tokens: tokens)
    }

    /// Each metric summed over ranks; a rank that lacks one adds 0 (it had nothing to weigh).
    func globalSums(_ local: [String: Double]) throws -> [String: Double] {
        guard communicator.size > 1 else { return local }
        // The union of the names, in one order on every rank: UTF-8 bytes, names ended by 0.
        let bytes: [Int64] = local.keys.sorted().flatMap { (name: String) -> [Int64] in name.utf8.map { Int64($0) } + [0] }
        var names = Set<String>()
        for rankBytes in try communicator.allgather(bytes) {
            for name in rankBytes.split(separator: 0) { names.insert(String(decoding: name.map { UInt8($0) }, as: UTF8.self)) }
        }
        let order = names.sorted()
        var values = order.map { local[$0] ?? 0 }
        try communicator.allreduce(&values, .sum)
        return Dictionary(uniqueKeysWithValues: zip(order, values))
    }

    func saveCheckpoint(to dir: URL, history: [MetricsRecord]) throws {
        try task.saveModel(to: dir.appendingPathComponent("model"))
        try OptimizerCheckpoint.save(optimizer, names: named.map(\.0), to: dir)
        var state = TrainerState(step: step, epoch: sampler.position.epoch,
                                 dataPosition: try OpaqueCodable(sampler.position), metricsHistory: history)
        state.extra["optimizer_steps"] = try OpaqueCodable(optimizer.steps)
        try state.save(in: dir)
    }

    func loadCheckpoint(from dir: URL) throws -> [MetricsRecord] {
        let state = try TrainerState.load(from: dir)
        try task.loadModel(from: dir.appendingPathComponent("model"))
        try OptimizerCheckpoint.load(optimizer, names: named.map(\.0), from: dir, state: state)
        if let pos = state.dataPosition {
            sampler = try EpochSampler(indices: trainIndices, batchSize: args.batchSize, seed: args.seed,
                                       position: try pos.decode(DataPosition.self))
        }
        step = state.step
        return state.metricsHistory
    }

    func publishFinal(into directory: URL) throws {
        try DirectoryPublish.publish(into: directory, pausePoint: "final-swap") { try task.saveModel(to: $0) }
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
