// The tokenized forms the collators take: `TokenizedExample` (prompt ids then completion
// ids, one sequence), `PreferencePair` (chosen and rejected sharing one prompt) and
// `PromptExample` (a PPO prompt and its optional answer), plus `TokenizationReport`, what
// truncation did to a dataset. Leaves out padding: that is the collator's job.
import Foundation

public struct TokenizedExample: Sendable, Equatable, Codable {
    /// (T) token ids: the prompt's, then the completion's.
    public var ids: [Int32]
    /// ids[..<promptLength] are the prompt (no loss by default); the rest is the completion.
    public var promptLength: Int
    public var source: SourceLine

    public init(ids: [Int32], promptLength: Int, source: SourceLine) {
        self.ids = ids; self.promptLength = promptLength; self.source = source
    }

    public var promptIds: ArraySlice<Int32> { ids[..<promptLength] }
    public var completionIds: ArraySlice<Int32> { ids[promptLength...] }
    public var completionLength: Int { ids.count - promptLength }
}

public struct PreferencePair: Sendable, Equatable, Codable {
    /// Same prompt ids (same promptLength) in both.
    public var chosen: TokenizedExample
    public var rejected: TokenizedExample
    public var source: SourceLine { chosen.source }

    public init(chosen: TokenizedExample, rejected: TokenizedExample) {
        self.chosen = chosen; self.rejected = rejected
    }
}

public struct PromptExample: Sendable, Equatable, Codable {
    /// (P) prompt ids (chat prompts end with the generation prompt).
    public var ids: [Int32]
    /// The answer field of the row, for rule-based rewards.
    public var answer: String?
    public var source: SourceLine

    public init(ids: [Int32], answer: String? = nil, source: SourceLine) {
        self.ids = ids; self.answer = answer; self.source = source
    }
}

/// What tokenization did to a dataset: worth logging once at the start of a run.
public struct TokenizationReport: Sendable, Equatable {
    /// Rows read.
    public var rows = 0
    /// Examples produced (rows minus skipped).
    public var examples = 0
    /// Examples shortened by truncation (prompt, completion or both).
    public var truncated = 0
    /// Rows dropped because truncation left no completion tokens (policy `.skip`).
    public var skippedEmptyCompletion: [SourceLine] = []
    /// Chat rows whose prompt ids are not a prefix of the prompt+completion ids (TRL warns
    /// about the same thing); the split point is still the prompt's length, as in TRL.
    public var promptPrefixMismatches: [SourceLine] = []

    public init() {}
}
