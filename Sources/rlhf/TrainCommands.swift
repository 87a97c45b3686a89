// `rlhf sft`, `rlhf reward` and `rlhf dpo`: a JSON config file (every field documented in
// SFTConfig / RewardConfig / DPOConfig / TrainingArguments), `--set key=value` overrides, `--resume` from the
// latest complete checkpoint in output_dir, `--overwrite` to start over in a non-empty one.
// The output path is checked before any model loads. Progress on stderr; the final model at
// the top of <output_dir> (checkpoints in <output_dir>/checkpoint-<step>). Under `mpirun -np N`
// every rank trains its shard of each global batch; rank 0 alone logs and writes.
import ArgumentParser
import Distributed
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

/// The process group this command runs in (Open MPI's world under mpirun, else one process),
/// a log that only rank 0 writes, and its first line, `ranks: N`.
func launch() throws -> (communicator: any Communicator, log: (String) -> Void) {
    let comm = try Launch.communicator()
    let root = comm.isRoot
    let log: (String) -> Void = { if root { stderrLine($0) } }
    log("ranks: \(comm.size)")
    return (comm, log)
}

/// Loads and checks a supervised trainer's config, checks its output folder before any model
/// loads, trains and prints the held-out metrics and where the model is.
func runSupervised<Config: Decodable>(_ options: TrainOptions, _ type: Config.Type,
                                      check: (Config, String) throws -> TrainingArguments,
                                      train: (Config, any Communicator, @escaping (String) -> Void) throws -> TrainingSummary) throws {
    let (comm, log) = try launch()
    let config = try ConfigFile.load(type, path: options.config, overrides: options.allOverrides)
    let training = try check(config, options.config ?? "(flags)")
    // Every rank checks before any rank writes (rank 0 creates the folder once training starts).
    try RunDirectory.check(training.outputDir, overwrite: training.overwriteOutputDir, resume: options.resume)
    try comm.barrier()
    let summary = try train(config, comm, log)
    guard comm.isRoot else { return }
    for (k, v) in summary.finalEval { print("\(k): \(String(format: "%.4f", v))") }
    print("model: \(training.outputDir)")
}

func progress(_ label: String, _ comm: any Communicator) -> ProgressReporter? {
    comm.isRoot ? .standardError(total: nil, label: label, unit: "step") : nil
}

struct SFTCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sft", abstract: "Supervised fine-tuning on prompt/completion JSONL.")
    @OptionGroup var options: TrainOptions

    func run() throws {
        try runSupervised(options, SFTConfig.self, check: { try $0.validate(file: $1); return $0.training }) {
            try SFTTrainer(config: $0, log: $2).train(resume: options.resume, log: $2, progress: progress("sft", $1), communicator: $1)
        }
    }
}

struct RewardCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reward", abstract: "Bradley-Terry reward-model training on preference JSONL.")
    @OptionGroup var options: TrainOptions

    func run() throws {
        try runSupervised(options, RewardConfig.self, check: { try $0.validate(file: $1); return $0.training }) {
            try RewardTrainer(config: $0, log: $2).train(resume: options.resume, log: $2, progress: progress("reward", $1), communicator: $1)
        }
    }
}

struct DPOCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "dpo",
                                                    abstract: "DPO (sigmoid, IPO, hinge; conservative or reference-free) on preference JSONL.")
    @OptionGroup var options: TrainOptions

    func run() throws {
        try runSupervised(options, DPOConfig.self, check: { try $0.validate(file: $1); return $0.training }) {
            try DPOTrainer(config: $0, log: $2).train(resume: options.resume, log: $2, progress: progress("dpo", $1), communicator: $1)
        }
    }
}
