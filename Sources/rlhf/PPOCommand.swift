// `rlhf ppo --config ppo_config.json`: PPO with actor, critic, frozen reference and a
// reward (model, rule or command). The article's config runs as given (SPEC section 3).
import ArgumentParser
import Foundation
import RLHF
import RunKit

struct PPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ppo", abstract: "PPO on prompts with a reward model, rule or command.")
    @OptionGroup var options: TrainOptions

    func run() throws {
        let config = try ConfigFile.load(PPOConfig.self, path: options.config, overrides: options.allOverrides)
        try config.validate(file: options.config ?? "(flags)")
        // Before the four models load: a bad output path is reported in seconds.
        try RunDirectory.check(config.outputDir, overwrite: config.overwriteOutputDir, resume: options.resume)
        let trainer = try PPOTrainer(config: config, log: stderrLine)
        let summary = try trainer.train(resume: options.resume,
                                        progress: .standardError(total: config.iterations, label: "ppo", unit: "iter"))
        if let last = summary.history.last {
            for s in last.scalars where s.name.hasPrefix("ppo/score") || s.name == "ppo/kl_mean" {
                print("\(s.name): \(String(format: "%.4f", s.value))")
            }
        }
        print("model: \(config.outputDir)")
    }
}
