// `rlhf dpo`: direct preference optimisation from a JSON config (every field documented in
// DPOConfig / DatasetArguments / TrainingArguments), `--set key=value` overrides, `--resume`
// from the latest complete checkpoint. Progress on stderr; held-out metrics on stdout.
import ArgumentParser
import Foundation
import RLHF
import RunKit

struct DPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dpo",
                                                    abstract: "DPO (sigmoid, IPO, hinge; conservative or reference-free) on preference JSONL.")
    @OptionGroup var options: TrainOptions

    func run() throws {
        let config = try ConfigFile.load(DPOConfig.self, path: options.config, overrides: options.allOverrides)
        try config.validate(file: options.config ?? "(flags)")
        try RunDirectory.check(config.training.outputDir, overwrite: config.training.overwriteOutputDir, resume: options.resume)
        let trainer = try DPOTrainer(config: config, log: stderrLine)
        let summary = try trainer.train(resume: options.resume, log: stderrLine,
                                        progress: .standardError(total: nil, label: "dpo", unit: "step"))
        for (k, v) in summary.finalEval { print("\(k): \(String(format: "%.4f", v))") }
        print("model: \(config.training.outputDir)")
    }
}
