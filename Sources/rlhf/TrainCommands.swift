// `rlhf sft` and `rlhf reward`: a JSON config file (every field documented in SFTConfig /
// RewardConfig / TrainingArguments), `--set key=value` overrides, `--resume` from the
// latest complete checkpoint in output_dir, `--overwrite` to start over in a non-empty one.
// The output path is checked before any model loads. Progress on stderr; the final model at
// the top of <output_dir> (checkpoints in <output_dir>/checkpoint-<step>).
import ArgumentParser
import Foundation
import RLHF
import RunKit

struct TrainOptions: ParsableArguments {
    @Option(help: "JSON config file.") var config: String?
    @Option(name: .customLong("set"), help: "Override a config field: key=value (value parsed as JSON when it is). Repeatable.")
    var overrides: [String] = []
    @Flag(help: "Continue from the latest complete checkpoint in output_dir.") var resume = false
    @Flag(help: "Start a run in a non-empty output_dir (overwrite_output_dir); files the run does not write are kept.")
    var overwrite = false

    /// `--set` overrides with `--overwrite` mapped onto its config key.
    var allOverrides: [String] { overrides + (overwrite ? ["overwrite_output_dir=true"] : []) }
}

func stderrLine(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sft", abstract: "Supervised fine-tuning on prompt/completion JSONL.")
    @OptionGroup var options: TrainOptions

    func run() throws {
        let config = try ConfigFile.load(SFTConfig.self, path: options.config, overrides: options.allOverrides)
        try config.validate(file: options.config ?? "(flags)")
        try RunDirectory.check(config.training.outputDir, overwrite: config.training.overwriteOutputDir, resume: options.resume)
        let trainer = try SFTTrainer(config: config, log: stderrLine)
        let summary = try trainer.train(resume: options.resume, log: stderrLine,
                                        progress: .standardError(total: nil, label: "sft", unit: "step"))
        for (k, v) in summary.finalEval { print("\(k): \(String(format: "%.4f", v))") }
        print("model: \(config.training.outputDir)")
    }
}

struct RewardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reward", abstract: "Bradley-Terry reward-model training on preference JSONL.")
    @OptionGroup var options: TrainOptions

    func run() throws {
        let config = try ConfigFile.load(RewardConfig.self, path: options.config, overrides: options.allOverrides)
        try config.validate(file: options.config ?? "(flags)")
        try RunDirectory.check(config.training.outputDir, overwrite: config.training.overwriteOutputDir, resume: options.resume)
        let trainer = try RewardTrainer(config: config, log: stderrLine)
        let summary = try trainer.train(resume: options.resume, log: stderrLine,
                                        progress: .standardError(total: nil, label: "reward", unit: "step"))
        for (k, v) in summary.finalEval { print("\(k): \(String(format: "%.4f", v))") }
        print("model: \(config.training.outputDir)")
    }
}
