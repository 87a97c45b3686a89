// RunLoop: the one loop every trainer runs in — supervised steps (SFT, reward model, DPO)
// and RL iterations (PPO, GRPO, RLOO, REINFORCE++) alike. It owns the output folder
// (RunDirectory: identity, resume, overwrite), metrics at the logging cadence (JSONL and
// TensorBoard), evaluation and checkpoint cadences, pruning, progress, the stops on a
// non-finite value and the final publish. A trainer supplies one unit of work and its state
// (`RunTask`). Under MPI every rank runs the loop; rank 0 alone owns the folder and writes
// (docs/distributed.md). Leaves out evaluation sharded over ranks (every rank evaluates all).
import Distributed
import Foundation
import RunKit
import TensorCore

/// What one unit of training (an optimizer step, an RL iteration) reports.
public struct UnitReport {
    /// Averaged over the logging window (losses, norms, timings).
    public var averaged: [(String, Double)]
    /// Taken from the window's last unit (counters, controller state, position in the data).
    public var latest: [(String, Double)]
    /// Tokens processed, for the throughput metric.
    public var tokens: Int

    public init(averaged: [(String, Double)], latest: [(String, Double)] = [], tokens: Int = 0) {
        self.averaged = averaged; self.latest = latest; self.tokens = tokens
    }
}

/// Where a run writes and how often it logs, evaluates and checkpoints.
public struct RunCadence: Sendable {
    public var outputDir: String
    /// A fresh run may start in a non-empty output_dir (see RunDirectory).
    public var overwrite: Bool
    /// Units per metrics record (the window the averaged metrics are taken over).
    public var loggingSteps: Int
    /// Units between evaluations; 0: evaluate after the last unit only.
    public var evalSteps: Int
    /// Units between checkpoints; 0: none.
    public var saveSteps: Int
    /// Complete checkpoints kept.
    public var saveTotalLimit: Int
}

/// A non-finite value found inside a unit; the loop names the unit and the last good checkpoint.
struct NonFiniteValue: Error {
    var what: String
}

/// What a trainer plugs into the run loop.
public protocol RunTask: AnyObject {
    /// "step" or "iteration", in messages.
    var unitName: String { get }
    var totalUnits: Int { get }
    /// Units done so far (a restored checkpoint sets it).
    var completedUnits: Int { get }
    /// The tokens-per-second metric's name; nil logs none.
    var throughputMetric: String? { get }
    /// (label, metric) shown on the progress line.
    var progressMetrics: [(String, String)] { get }
    /// Metrics whose NaN or infinity means the unit already went wrong.
    var mustBeFinite: Set<String> { get }
    /// JSONL files besides metrics.jsonl whose lines carry the unit under `key`: a resume
    /// cuts the lines past the restored unit.
    var unitKeyedFiles: [(file: String, key: String)] { get }
    /// What `run.json` records so a resume with another model, data or settings is refused.
    func runIdentityFields() -> [String: String]
    /// Runs the next unit. Throws `NonFiniteValue` or `TensorError.nonFinite` on NaN/Inf.
    func runUnit() throws -> UnitReport
    /// Held-out metrics ("eval/..."); [] where the trainer has none.
    func evaluate() throws -> [(String, Double)]
    /// The first non-finite tensor among the weights and optimizer state, if any.
    func firstNonFinite() -> String?
    func saveCheckpoint(to directory: URL, history: [MetricsRecord]) throws
    /// Restores the state and returns the metrics history saved with it.
    func loadCheckpoint(from directory: URL) throws -> [MetricsRecord]
    /// Writes the final model(s) into `directory` (the top of output_dir).
    func publishFinal(into directory: URL) throws
}

/// The run's outcome: units done and every metrics record logged.
public struct RunSummary: Sendable {
    public var units: Int
    public var history: [MetricsRecord]
}

public enum RunLoop {
    /// Runs `task` to its last unit (or `stopAfter` more units, for tests of resumption), then
    /// publishes the final model once every unit has run. With several ranks (`communicator`)
    /// every rank calls this; rank 0 alone opens the folder, logs, writes metrics, checkpoints
    /// and the final model, and the others wait at a barrier after each write, so no rank runs
    /// ahead of a checkpoint it might have to resume from. A resume reads the checkpoint on every
    /// rank: output_dir must be on a filesystem every rank sees.
    public static func run(_ task: some RunTask, cadence: RunCadence, resume: Bool, stopAfter: Int?,
                           log rootLog: @escaping (String) -> Void, progress rootProgress: ProgressReporter?,
                           communicator comm: any Communicator = SingleProcess()) throws -> RunSummary {
        let root = comm.isRoot
        let log: (String) -> Void = root ? rootLog : { _ in }
        let progress = root ? rootProgress : nil
        let run = root ? try RunDirectory.open(cadence.outputDir, identity: RunIdentity(fields: task.runIdentityFields()),
                                               overwrite: cadence.overwrite, resume: resume, log: log) : nil
        let out = run?.url ?? URL(fileURLWithPath: cadence.outputDir)
        // Rank 0 names the checkpoint to resume from (-1: none); every rank loads that one.
        var resumeStep: [Int64] = [-1]
        if resume, let ckpt = try run?.latestCheckpoint() { resumeStep[0] = Int64(ckpt.step) }
        try comm.broadcast(&resumeStep, root: 0)
        var history: [MetricsRecord] = []
        if resumeStep[0] >= 0 {
            let ckpt = CheckpointStore(root: out).url(step: Int(resumeStep[0]))
            history = try task.loadCheckpoint(from: ckpt)
            log("resumed from \(ckpt.path) at \(task.unitName) \(task.completedUnits)")
        } else if resume {
            log("no complete checkpoint of this run in \(out.path): starting from \(task.unitName) 0")
        }
        var lastGood = try run?.latestCheckpoint()?.url.path
        // Lines past the resumed unit are rewritten by this run (a new run keeps none).
        let start = task.completedUnits
        try run?.cutJSONL("metrics.jsonl", key: "step", through: start)
        for f in task.unitKeyedFiles { try run?.cutJSONL(f.file, key: f.key, through: start) }
        let sinks = root ? MetricsFanout([try JSONLMetricsWriter(url: out.appendingPathComponent("metrics.jsonl")),
                                          try TensorBoardWriter(directory: out.appendingPathComponent("tensorboard"))]) : nil
        let total = task.totalUnits
        let end = min(total, stopAfter.map { start + $0 } ?? total)
        var window = MetricsWindow()
        func stop(_ unit: Int, _ what: String) -> NonFiniteTrainingError {
            NonFiniteTrainingError(unit: task.unitName, step: unit, what: what, lastGood: lastGood)
        }

        while task.completedUnits < end {
            let attempted = task.completedUnits + 1
            let report: UnitReport
            do { report = try task.runUnit() } catch let e as NonFiniteValue {
                throw stop(attempted, e.what)
            } catch let TensorError.nonFinite(op, detail) {
                throw stop(attempted, "value in \(op) (\(detail))")
            }
            let unit = task.completedUnits
            for (k, v) in report.averaged + report.latest where task.mustBeFinite.contains(k) && !v.isFinite {
                throw stop(unit, "\(k) = \(v)")
            }
            window.add(report)

            var scalars: [MetricsRecord.Scalar] = []
            if unit % cadence.loggingSteps == 0 || unit == end {
                scalars = window.drain(throughputMetric: task.throughputMetric)
            }
            if (cadence.evalSteps > 0 && unit % cadence.evalSteps == 0) || unit == total {
                scalars += try task.evaluate().map { MetricsRecord.Scalar($0.0, $0.1) }
            }
            if !scalars.isEmpty {
                let record = MetricsRecord(step: unit, scalars: scalars)
                history.append(record)
                try sinks?.log(record)
                try sinks?.flush()
                // The record's value, else this unit's own (an evaluation-only record has no train/loss).
                let unitValues = report.averaged + report.latest
                progress?.update(unit, metricList: task.progressMetrics.map { label, name in
                    (label, scalars.first { $0.name == name }?.value ?? unitValues.first { $0.0 == name }?.1 ?? .nan)
                })
            }
            if cadence.saveSteps > 0 && unit % cadence.saveSteps == 0 && unit < total {
                if let bad = task.firstNonFinite() { throw stop(unit, bad) }
                if let run {
                    lastGood = try run.writeCheckpoint(step: unit) { try task.saveCheckpoint(to: $0, history: history) }.path
                    _ = try run.prune(keepLast: cadence.saveTotalLimit)
                }
                try comm.barrier()
            }
        }
        progress?.finish()
        if task.completedUnits >= total {
            if let bad = task.firstNonFinite() { throw stop(task.completedUnits, bad) }
            if root { try task.publishFinal(into: out) }
            try comm.barrier()
        }
        return RunSummary(units: task.completedUnits, history: history)
    }
}

/// The units since the last metrics record: sums of the averaged metrics, the latest values,
/// tokens and the wall time.
struct MetricsWindow {
    var sums: [String: (Double, Int)] = [:]
    var latest: [(String, Double)] = []
    var tokens = 0
    var started = Date()

    mutating func add(_ r: UnitReport) {
        for (k, v) in r.averaged { sums[k, default: (0, 0)].0 += v; sums[k, default: (0, 0)].1 += 1 }
        latest = r.latest
        tokens += r.tokens
    }

    /// The record's scalars (averaged ones sorted by name, then throughput, then the latest
    /// values in the task's order), and a fresh window.
    mutating func drain(throughputMetric: String?) -> [MetricsRecord.Scalar] {
        var out = sums.keys.sorted().map { MetricsRecord.Scalar($0, sums[$0]!.0 / Double(sums[$0]!.1)) }
        if let name = throughputMetric {
            out.append(.init(name, Double(tokens) / max(Date().timeIntervalSince(started), 1e-9)))
        }
        out += latest.map { MetricsRecord.Scalar($0.0, $0.1) }
        self = MetricsWindow()
        return out
    }
}
