// `rlhf-bench grpo`: the RL engine's real iteration (PPOTrainer.step(), docs/algorithms.md §7)
// with the GRPO estimator on TRL's GRPOTrainer shape — a GPT-2-124M-shaped actor with random
// weights, a frozen reference with the same weights, 2 prompts x 4 generations, 64 new tokens
// at temperature 1, beta 0.04 (k3 KL in the loss), one optimizer step per rollout, a rule
// reward on the decoded text. `--compare-trl PYTHON` runs Reference/trl_grpo_step.py on the same
// shape and threads in the same sitting and prints the ratio. Both sides use the same synthetic
// tokenizer (byte-level symbols, one made-up word per other id, no merges), built in memory.
// Leaves out: loading models from disk (the engine's setup is timed by nothing here).
import ArgumentParser
import Data
import Foundation
import Models
import RLHF
import TensorCore
import Tokenizers

struct GRPOBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grpo",
        abstract: "GRPO iterations of the RL engine on TRL's GRPOTrainer shape, optionally next to TRL in the same run.")

    @Option(help: "Timed iterations (after one warm-up iteration).") var iterations = 3
    @Option(help: "gpt2 (124M) or small (a tiny config for a quick smoke run).") var model = "gpt2"
    @Option(help: "Generations per prompt (2 prompts per rollout).") var generations = 4
    @Option(help: "New tokens per response.") var newTokens = 64
    @Option(help: "KL coefficient in the loss (k3 to the frozen reference).") var beta: Float = 0.04
    @Option(help: "A Python with trl==1.16.0 and torch: runs Reference/trl_grpo_step.py on the same shape.")
    var compareTrl: String?

    static let prompts = ["The film opened with a", "My favourite part was"]
    static let vocabSize = 50257

    func run() throws {
        let config: TransformerConfig = model == "small"
            ? .gpt2(vocabSize: Self.vocabSize, hiddenSize: 128, layers: 2, heads: 4) : .gpt2(vocabSize: Self.vocabSize)
        let name = model == "small" ? "grpo_small" : "grpo_gpt2_124m"
        let threads = ThreadPool.shared.threadCount
        printFact("\(name)_shape", "2 prompts x \(generations) generations, \(newTokens) new tokens, beta \(beta), \(threads) threads")

        let tokenizer = try Self.syntheticTokenizer()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("rlhf-bench-grpo-\(getpid())")
        defer { try? FileManager.default.removeItem(at: out) }
        let ppo = Self.config(prompts: 2, generations: generations, newTokens: newTokens, iterations: iterations, beta: beta,
                              lr: 1e-6, outputDir: out.path)
        var a = WeightInit.random(seed: 1), r = WeightInit.random(seed: 1)
        let parts = EngineParts(
            actor: CausalLM(config: config, initializer: &a), reference: CausalLM(config: config, initializer: &r),
            critic: nil, reward: LettersReward(), tokenizer: tokenizer, tokenizerDirectory: nil,
            prompts: Self.prompts.enumerated().map { PromptExample(ids: tokenizer.encode($1).map(Int32.init),
                                                                   source: SourceLine(file: "bench", line: $0 + 1)) },
            eosIds: [Int32(Self.vocabSize - 1)], padId: Int32(Self.vocabSize - 1))
        let trainer = try PPOTrainer(config: ppo, parts: parts)

        let t = try Self.medianStep(trainer, iterations: iterations)
        printFigure("\(name)_iteration_seconds", t.total, "s")
        for phase in ["rollout", "scoring", "update"] {
            printFigure("\(name)_\(phase)_seconds", t.parts["time/\(phase)_s"] ?? .nan, "s")
        }

        guard let python = compareTrl else { return }
        let reference = try Self.runTRL(python: python, model: model, threads: threads, steps: iterations,
                                        generations: generations, newTokens: newTokens, beta: beta)
        printFact("trl_versions", reference.versions)
        printFigure("trl_grpo_step_seconds", reference.stepSeconds, "s")
        printFigure("\(name)_speedup_vs_trl", reference.stepSeconds / t.total, "x")
    }

    /// The engine's GRPO settings on this bench's shape: `prompts` x `generations` rows per rollout,
    /// one optimizer step per rollout, k3 KL in the loss (none in the reward), `iterations` + 1
    /// rollouts (one to warm up).
    static func config(prompts: Int, generations: Int, newTokens: Int, iterations: Int, beta: Float, lr: Float,
                       outputDir: String) -> PPOConfig {
        var ppo = PPOConfig()
        ppo.advantageEstimator = .grpo
        ppo.numGenerations = generations
        ppo.rolloutBatchSize = prompts
        ppo.totalEpisodes = prompts * (iterations + 1)
        ppo.miniBatchSize = prompts * generations
        ppo.ppoEpochs = 1
        ppo.maxGenLen = newTokens
        ppo.beta = beta
        ppo.klCoef = 0
        ppo.lrActor = lr
        ppo.outputDir = outputDir
        return ppo
    }

    /// One warm-up `step()`, then the median of `iterations` timed ones by total seconds, with that
    /// step's metrics (the phases' `time/*_s`).
    static func medianStep(_ trainer: PPOTrainer, iterations: Int) throws -> (total: Double, parts: [String: Double]) {
        _ = try trainer.step()
        var runs: [(total: Double, parts: [String: Double])] = []
        for _ in 0..<max(1, iterations) {
            let t0 = now()
            let m = try trainer.step()
            runs.append((now() - t0, Dictionary(m, uniquingKeysWith: { a, _ in a })))
        }
        return runs.sorted { $0.total < $1.total }[runs.count / 2]
    }

    /// Runs the TRL script and reads its JSON line (the last line of its output).
    static func runTRL(python: String, model: String, threads: Int, steps: Int, generations: Int, newTokens: Int,
                       beta: Float) throws -> (stepSeconds: Double, versions: String) {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Reference/trl_grpo_step.py")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: python)
        p.arguments = [script.path, "--threads", "\(threads)", "--steps", "\(max(1, steps))", "--model", model,
                       "--generations", "\(generations)", "--new-tokens", "\(newTokens)", "--beta", "\(beta)"]
        let pipe = Pipe()
        p.standardOutput = pipe
        // TRL's warnings and progress go to a file, shown only if the script fails.
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("trl_grpo_step-\(getpid()).stderr")
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errURL) }
        p.standardError = try FileHandle(forWritingTo: errURL)
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
        guard p.terminationStatus == 0, let last = lines.last,
              let obj = try? JSONSerialization.jsonObject(with: Foundation.Data(last.utf8)) as? [String: Any],
              let seconds = obj["step_seconds"] as? Double else {
            let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
            throw ValidationError("\(script.path) failed (exit \(p.terminationStatus)); the end of its error output:\n"
                                  + err.split(separator: "\n").suffix(15).joined(separator: "\n"))
        }
        let v = (obj["versions"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        return (seconds, v.joined(separator: ", "))
    }

    /// GPT-2's 256 byte-level symbols (ids = byte values), one made-up space-led word for each
    /// id up to 50,255 and <|endoftext|> at 50,256; no merges: what Reference/trl_grpo_step.py
    /// writes.
    static func syntheticTokenizer(vocabSize: Int = GRPOBench.vocabSize) throws -> Tokenizer {
        var scalarForByte = [UInt32](repeating: 0, count: 256), next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) { scalarForByte[b] = UInt32(b) } else {
                scalarForByte[b] = next; next += 1
            }
        }
        var vocab: [String: Int] = [:]
        for b in 0..<256 { vocab[String(Character(Unicode.Scalar(scalarForByte[b])!))] = b }
        for id in 256..<(vocabSize - 1) {
            var word = "", i = id
            repeat { word = String(Character(Unicode.Scalar(UInt8(97 + i % 26)))) + word; i /= 26 } while i > 0
            vocab["Ġ" + word] = id
        }
        vocab["<|endoftext|>"] = vocabSize - 1
        let json = try JSONSerialization.data(withJSONObject: vocab)
        let config = Foundation.Data(#"{"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}"#.utf8)
        return try Tokenizer(vocabJSON: json, mergesTXT: Foundation.Data("#version: 0.2\n".utf8), configJSON: config)
    }
}

/// The rule reward of the TRL script: occurrences of 'a' and 'b' in the response.
final class LettersReward: RewardSource {
    let name = "letters a+b"
    func scores(_ batch: RewardBatch) throws -> [Float] {
        batch.responses.map { r in Float(r.reduce(0) { $0 + ($1 == "a" || $1 == "b" ? 1 : 0) }) }
    }
}
