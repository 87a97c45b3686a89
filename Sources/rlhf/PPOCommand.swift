// `rlhf ppo --config ppo_config.json` and `rlhf rl --config FILE`: one RL engine (PPOTrainer)
// with actor, frozen reference and a reward (model, rule or command); the critic only for
// `advantage_estimator: "gae"`. `ppo` runs the source article's config as given; `rl` is the
// same engine under its general name, for grpo / rloo / reinforce_pp configs
// (docs/algorithms.md §4, §7). The estimator comes from the config, never from the command.
import ArgumentParser
import Distributed
import Foundation
import RLHF
import RunKit

/// Loads, checks and runs one engine config; shared by `ppo` and `rl`.
func runRL(_ options: TrainOptions, label: String) throws {
    let (comm, log) = try launch()
    let config = try ConfigFile.load(PPOConfig.self, path: options.config, overrides: options.allOverrides)
    try config.validate(file: options.config ?? "(flags)")
    // Before the models load: a bad output path is reported in seconds (every rank checks
    // before rank 0 writes).
    try RunDirectory.check(config.outputDir, overwrite: config.overwriteOutputDir, resume: options.resume)
    try comm.barrier()
    let trainer = try PPOTrainer(config: config, log: log)
    let summary = try trainer.train(resume: options.resume,
                                    progress: comm.isRoot ? .standardError(total: config.iterations, label: label, unit: "iter") : nil,
                                    communicator: comm)
    guard comm.isRoot else { return }
    if let last = summary.history.last {
        for s in last.scalars where s.name.hasPrefix("ppo/score") || s.name == "ppo/kl_mean" {
            print("\(s.name): \(String(format: "%.4f", s.value))")
        }
    }
    print("model: \(config.outputDir)")
}

struct PPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ppo", abstract: "PPO on prompts with a reward model, rule or command.")
    @OptionGroup var options: TrainOptions

    func run() throws { try runRL(options, label: "ppo") }
}

struct RLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rl",
        abstract: "The RL engine by advantage_estimator: gae (PPO), grpo, rloo, reinforce_pp, reinforce_pp_baseline.")
    @OptionGroup var options: TrainOptions

    func run() throws { try runRL(options, label: "rl") }
}
