// rlhf-bench: prints measured figures as `name: value unit` lines, one per figure, with
// ratios to a reference measured in the same run. Benchmarks, never tests.
import ArgumentParser

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf-bench",
        abstract: "Measure the speed of swift-rlhf's kernels, models and trainers on this machine.",
        subcommands: BenchCommand.available
    )

    /// One entry per benchmark family.
    static let available: [ParsableCommand.Type] = [CoreBench.self, GemmBench.self, ModelsBench.self, GenerateBench.self,
                                                        TokenizersBench.self, TrainersBench.self, PPOBench.self, GRPOBench.self,
                                                        ScalingBench.self, AllreduceBench.self, DataParallelBench.self, LoRABench.self]
}
