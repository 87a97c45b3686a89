// The tokenized forms the collators take: `TokenizedExample` (prompt ids then completion
// ids, one sequence), `PreferenceGroup` (responses sharing one prompt, and which is
// preferred to which) and `PromptExample` (a PPO prompt and its optional answer), plus `TokenizationReport`, what
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

/// Responses to one prompt (same prompt ids in each) and the comparisons among them: a
/// chosen/rejected pair is two sequences and one comparison; a rated group of K responses
/// has one comparison per pair whose ratings differ enough.
public struct PreferenceGroup: Sendable, Equatable, Codable {
    public var sequences: [TokenizedExample]
    /// sequences[better[i]] is preferred to sequences[worse[i]].
    public var better: [Int]
    public var worse: [Int]
    public var source: SourceLine { sequences[0].source }
    public var comparisonCount: Int { better.count }

    public init(sequences: [TokenizedExample], better: [Int], worse: [Int]) {
        self.sequences = sequences; self.better = better; self.worse = worse
    }

    public init(chosen: TokenizedExample, rejected: TokenizedExample) {
        self.init(sequences: [chosen, rejected], better: [0], worse: [1])
    }

    /// Every pair (i, j) with |r_i - r_j| >= max(gap, a tie never counts): higher rating better.
    public static func comparisons(ratings: [Double], minGap: Double) -> (better: [Int], worse: [Int]) {
        var better: [Int] = [], worse: [Int] = []
        for i in ratings.indices {
            for j in (i + 1)..<ratings.count where ratings[i] != ratings[j] && abs(ratings[i] - ratings[j]) >= minGap {
                if ratings[i] > ratings[j] { better.append(i); worse.append(j) } else { better.append(j); worse.append(i) }
            }
        }
        return (better, worse)
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
    /// Rated rows dropped because no two of their ratings differ by min_rating_gap.
    public var skippedNoComparison: [SourceLine] = []

    public init() {}
}
