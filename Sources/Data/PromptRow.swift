// `PromptRow`: one PPO prompt, {"prompt": "..."} or {"prompt": [msgs]}, with an optional
// "answer" kept verbatim for rule-based rewards (a string; a number or boolean is kept as
// its JSON text, e.g. 42 -> "42"). Leaves out other extra fields.
import Foundation
import Tokenizers

public struct PromptRow: Sendable, Equatable {
    public var prompt: RowContent
    public var answer: String?
    public var source: SourceLine

    public init(_ prompt: RowContent, answer: String? = nil, source: SourceLine = SourceLine(file: "<inline>", line: 0)) {
        self.prompt = prompt; self.answer = answer; self.source = source
    }

    /// Inline prompts (a config's `prompt_data` list); the source names the config field.
    public static func inline(_ prompts: [String], name: String = "prompt_data") -> [PromptRow] {
        prompts.enumerated().map { PromptRow(.text($1), source: SourceLine(file: name, line: $0 + 1)) }
    }

    public static func load(_ url: URL) throws -> [PromptRow] { try JSONLines.read(url).map(PromptRow.init(row:)) }

    public static func parse(_ data: Foundation.Data, file: String) throws -> [PromptRow] {
        try JSONLines.parse(data, file: file).map(PromptRow.init(row:))
    }

    public init(row: JSONLRow) throws {
        source = row.source
        prompt = try row.content("prompt")
        switch row["answer"] {
        case nil, .null?: answer = nil
        case .string(let s)?: answer = s
        case .int(let i)?: answer = String(i)
        case .double(let d)?: answer = String(d)
        case .bool(let b)?: answer = String(b)
        case let other?: throw row.fail("field \"answer\": expected a string or a number, got \(JSONLines.kind(other))")
        }
    }
}
