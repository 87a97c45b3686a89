// The `rlhf` command-line tool: maps flags and config files onto the library's configs.
// Each subcommand lives in its own file; this one only lists them.
import ArgumentParser
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@main
struct RLHFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rlhf",
        abstract: "Align causal language models with human preferences: SFT, reward modelling, PPO.",
        discussion: "Start with `rlhf demo`: the whole recipe on bundled data, ending in a report.",
        subcommands: RLHFCommand.available
    )

    /// A write to a closed pipe (a reward command that quit early) then fails with EPIPE, which
    /// the writer reports, instead of killing rlhf silently by SIGPIPE (exit 141, no message).
    static func main() {
        signal(SIGPIPE, SIG_IGN)
        main(nil)
    }

    /// Subcommands that exist today. Add a new one here when its file lands.
    static let available: [ParsableCommand.Type] = [TokenizeCommand.self, GenerateCommand.self, PerplexityCommand.self, SFTCommand.self, RewardCommand.self, DPOCommand.self, PPOCommand.self, RLCommand.self,
                                                      DemoCommand.self, ConvertCommand.self, MergeCommand.self, LabelCommand.self]
}
