// The RL engine's iterations in the RunLoop: one unit is one iteration (rollout to KL
// control); its checkpoint is PPOCheckpoint; the final actor is published at the top of
// output_dir and the critic, for `gae`, in `critic/` (PEFT adapter folders with LoRA).
import Distributed
import Foundation
import Models
import RunKit

public struct PPOSummary {
    public var iterations: Int
    public var history: [MetricsRecord]
}

extension PPOTrainer: RunTask {
    /// Runs the remaining iterations in the `RunDirectory` at output_dir. A non-finite loss,
    /// gradient norm or weight stops the run naming the iteration; the last checkpoint stays.
    /// With a `communicator` of N ranks, each rolls out and trains on its shard of every batch.
    public func train(resume: Bool = false, stopAfter: Int? = nil, progress: ProgressReporter? = nil,
                      communicator: any Communicator = SingleProcess()) throws -> PPOSummary {
        self.communicator = communicator
        reducers = nil
        let cadence = RunCadence(outputDir: config.outputDir, overwrite: config.overwriteOutputDir, loggingSteps: config.loggingSteps,
                                 evalSteps: 0, saveSteps: config.saveSteps, saveTotalLimit: config.saveTotalLimit)
        let s = try RunLoop.run(self, cadence: cadence, resume: resume, stopAfter: stopAfter, log: log, progress: progress,
                                communicator: communicator)
        return PPOSummary(iterations: s.units, history: s.history)
    }

    public var unitName: String { "iteration" }
    public var totalUnits: Int { config.iterations }
    public var completedUnits: Int { iteration }
    public var throughputMetric: String? { nil }
    public var progressMetrics: [(String, String)] { [("score", "ppo/score_mean"), ("kl", "ppo/kl_mean")] }
    public var mustBeFinite: Set<String> { PPOCheckpoint.mustBeFinite }
    public var unitKeyedFiles: [(file: String, key: String)] { [("samples.jsonl", "iteration")] }
    public func runIdentityFields() -> [String: String] { PPOCheckpoint.identityFields(self) }
    public func evaluate() throws -> [(String, Double)] { [] }
    public func firstNonFinite() -> String? { PPOCheckpoint.firstNonFinite(self) }

    /// Counters and controller state are reported as of the window's last iteration; the rest
    /// is averaged over it.
    public func runUnit() throws -> UnitReport {
        let metrics = try step()
        let latest: Set<String> = ["ppo/episodes", "ppo/beta", "ppo/kl_penalty_beta"]
        return UnitReport(averaged: metrics.filter { !latest.contains($0.0) }, latest: metrics.filter { latest.contains($0.0) })
    }

    public func saveCheckpoint(to directory: URL, history: [MetricsRecord]) throws {
        try PPOCheckpoint.save(self, to: directory, history: history)
    }

    public func loadCheckpoint(from directory: URL) throws -> [MetricsRecord] {
        try PPOCheckpoint.load(self, from: directory)
    }

    public func publishFinal(into directory: URL) throws {
        try DirectoryPublish.publish(into: directory, pausePoint: "final-swap") {
            try PPOCheckpoint.saveActor(self, to: $0)
        }
        if critic != nil {
            try DirectoryPublish.publish(into: directory.appendingPathComponent("critic")) {
                try PPOCheckpoint.saveCritic(self, to: $0)
            }
        }
    }
}
