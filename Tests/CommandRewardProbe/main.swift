// CommandRewardProbe: one CommandReward call in a process of its own, so a test can see what
// a reward command does to its host — a death by SIGPIPE shows up as this probe's exit
// signal instead of killing the test runner. SIGPIPE is left at its default here, as in
// any program that embeds the library. Usage: CommandRewardProbe TIMEOUT BYTES COMMAND...
// (BYTES: length of the second response). Prints "scores: ..." or "error: ..."; exits 0.
import Foundation
import Models
import RLHF

let args = CommandLine.arguments
guard args.count >= 4, let timeout = Double(args[1]), let bytes = Int(args[2]) else {
    FileHandle.standardError.write(Data("usage: CommandRewardProbe TIMEOUT BYTES COMMAND [ARGS...]\n".utf8))
    exit(2)
}
let batch = RewardBatch(prompts: ["p", "q"], responses: ["a", String(repeating: "x", count: bytes)], answers: [nil, nil],
                        sequences: try TokenBatch(ids: [0, 0], batch: 2, time: 1), responseLengths: [1, 1], endsWithEOS: [true, true])
do {
    let scores = try CommandReward(command: Array(args[3...]), timeout: timeout).scores(batch)
    print("scores: \(scores)")
} catch {
    print("error: \(error)")
}
