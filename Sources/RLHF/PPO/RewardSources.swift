// Where PPO's sequence scores come from (docs/algorithms.md §4.2): a trained reward model
// read at each row's last real token, a built-in rule, or a user command fed JSONL.
import Data
import Foundation
import Models
import TensorCore
import Tokenizers

/// One rollout batch as every reward sees it.
public struct RewardBatch {
    public var prompts: [String]
    public var responses: [String]
    /// Each prompt row's "answer" field, if any (exact-answer rules).
    public var answers: [String?]
    /// Prompt (left-padded) + response (right-padded), mask 1 on real tokens.
    public var sequences: TokenBatch
    public var responseLengths: [Int]
    /// Whether each response ended with EOS (else it hit max_gen_len).
    public var endsWithEOS: [Bool]

    public init(prompts: [String], responses: [String], answers: [String?], sequences: TokenBatch, responseLengths: [Int],
                endsWithEOS: [Bool]) {
        self.prompts = prompts; self.responses = responses; self.answers = answers
        self.sequences = sequences; self.responseLengths = responseLengths; self.endsWithEOS = endsWithEOS
    }
}

public protocol RewardSource: AnyObject {
    /// One score per row.
    func scores(_ batch: RewardBatch) throws -> [Float]
    /// A short description for logs.
    var name: String { get }
}

public struct RewardError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A scalar-head reward model. With the policy's tokenizer it scores the rollout ids
/// directly; with another tokenizer it re-encodes prompt + response text.
public final class ModelReward: RewardSource {
    public let model: ScalarHeadModel
    let tokenizer: Tokenizer?
    public let name: String

    /// `tokenizer`: nil when the reward model shares the policy's vocabulary.
    public init(model: ScalarHeadModel, tokenizer: Tokenizer?, name: String) {
        self.model = model; self.tokenizer = tokenizer; self.name = name
    }

    public func scores(_ batch: RewardBatch) throws -> [Float] {
        try Tape.noGrad {
            guard let tokenizer else { return try model.lastTokenScores(batch.sequences).value.scalars }
            // Re-encoded as the reward trainer encodes completions: prompt, response, EOS.
            let encoder = try ExampleTokenizer(tokenizer: tokenizer)
            let rows = try batch.prompts.indices.map { i in
                try encoder.plain(prompt: batch.prompts[i], response: batch.responses[i], endsWithEOS: batch.endsWithEOS[i])
            }
            let pad = Int32(tokenizer.padTokenId ?? tokenizer.eosTokenId ?? 0)
            return try model.lastTokenScores(try TokenBatch.leftPadded(rows, padId: pad)).value.scalars
        }
    }
}

/// The built-in rules of `RewardSpec`.
public final class RuleReward: RewardSource {
    let spec: RewardSpec
    let regex: NSRegularExpression?
    public var name: String { "rule:\(spec.type.rawValue)" }

    public init(_ spec: RewardSpec) throws {
        self.spec = spec
        regex = try spec.pattern.map { try NSRegularExpression(pattern: $0) }
    }

    public func scores(_ batch: RewardBatch) throws -> [Float] {
        try batch.responses.indices.map { i in
            let r = batch.responses[i]
            switch spec.type {
            case .regex:
                let hit = regex!.firstMatch(in: r, range: NSRange(r.startIndex..., in: r)) != nil
                return hit ? spec.matchReward : spec.missReward
            case .keywords:
                let lower = r.lowercased()
                return Float(spec.words!.filter { lower.contains($0.lowercased()) }.count) * spec.perKeyword
            case .exactAnswer:
                guard let answer = batch.answers[i] else {
                    throw RewardError(message: "exact_answer reward: prompt \(i) (\"\(batch.prompts[i].prefix(40))\") has no \"answer\" field")
                }
                let a = answer.trimmingCharacters(in: .whitespacesAndNewlines)
                let resp = r.trimmingCharacters(in: .whitespacesAndNewlines)
                return (spec.match == "contains" ? resp.contains(a) : resp == a) ? spec.matchReward : spec.missReward
            case .length:
                let len = spec.unit == "tokens" ? batch.responseLengths[i] : r.split(whereSeparator: \.isWhitespace).count
                let t = Float(spec.target!)
                return -abs(Float(len) - t) / t
            case .command:
                preconditionFailure("command rewards are CommandReward")
            }
        }
    }
}

/// A user program: receives one JSON object {"prompt","response"} per line on stdin and
/// must print one number per line on stdout, in order. A program that cannot be started,
/// stops reading its input, exits non-zero, prints a non-number or a wrong count, or runs
/// past `timeout` is an error naming the command. It runs in a process group of its own,
/// which is killed (SIGTERM, then SIGKILL after `killGrace` s) on timeout.
public final class CommandReward: RewardSource {
    let command: [String]
    let timeout: Double
    let killGrace: Double
    public var name: String { "command:\(command.joined(separator: " "))" }

    public init(command: [String], timeout: Double, killGrace: Double = 2) {
        self.command = command; self.timeout = timeout; self.killGrace = killGrace
    }

    public func scores(_ batch: RewardBatch) throws -> [Float] {
        let input = zip(batch.prompts, batch.responses).map { p, r -> String in
            let obj = ["prompt": p, "response": r]
            let data = try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes])
            return String(decoding: data, as: UTF8.self)
        }.joined(separator: "\n") + "\n"
        let bytes = Array(input.utf8)
        let run: ScorerProcess.Outcome
        do {
            run = try ScorerProcess.run(command, input: bytes, timeout: timeout, killGrace: killGrace)
        } catch .cannotStart(let code) {
            let program = command.first ?? "(empty command)"
            throw RewardError(message: "reward command \(command): cannot run program \"\(program)\": \(String(cString: strerror(code)))"
                              + (code == ENOENT ? " (is it installed and on PATH?)" : ""))
        } catch .timedOut {
            throw RewardError(message: "reward command \(command) did not finish within \(timeout) s; "
                              + "its process group was sent SIGTERM, then SIGKILL after \(killGrace) s")
        }
        let errTail = String(decoding: run.stderr.suffix(500), as: UTF8.self)
        if let signal = run.signal {
            throw RewardError(message: "reward command \(command) was killed by signal \(signal): \(errTail)")
        }
        guard run.exitCode == 0 else {
            throw RewardError(message: "reward command \(command) exited with status \(run.exitCode ?? -1): \(errTail)")
        }
        guard run.inputTaken == bytes.count else {
            throw RewardError(message: "reward command \(command) exited without reading its input (it took \(run.inputTaken) of "
                              + "\(bytes.count) bytes); it must read one JSON line per response from stdin")
        }
        let lines = String(decoding: run.stdout, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard lines.count == batch.responses.count else {
            throw RewardError(message: "reward command \(command) printed \(lines.count) lines for \(batch.responses.count) responses")
        }
        return try lines.enumerated().map { i, l in
            guard let v = Float(l), v.isFinite else {
                throw RewardError(message: "reward command \(command): line \(i + 1) is not a finite number: \"\(l.prefix(60))\"")
            }
            return v
        }
    }
}
