// `ExampleTokenizer`: dataset rows -> token ids split into prompt and completion, as TRL's
// trainers tokenize them (chat rows through the chat template, plain rows as prompt +
// completion + EOS; the exact rules are on the type), then `TruncationPolicy`. Leaves out
// packing and assistant-only masks inside a multi-turn conversation.
import Foundation
import Tokenizers

/// The rules, per row shape:
/// - chat rows: prompt ids = template(prompt, add_generation_prompt: true); completion ids =
///   template(prompt + completion) minus its first len(prompt ids) tokens (TRL's difference
///   rule; when the prompt ids are not a prefix it is reported, and the split stays there);
/// - plain rows: encode(prompt) with special tokens (e.g. BOS) + encode(completion) without
///   + EOS (TRL appends eos_token too; never doubled). Encoding the two apart keeps the prompt
///   an exact prefix (TRL encodes the joined text, which can merge across the boundary);
/// - {"text"}: encode(text) + EOS, all completion;
/// - {"messages"}: the whole rendered conversation is completion (TRL's default) or, with
///   `.finalAssistantTurn`, the last assistant message onward.
public struct ExampleTokenizer: Sendable {
    public enum ConversationLoss: Sendable, Equatable {
        /// Every token of a {"messages"} row is trained on (TRL's default).
        case allTokens
        /// Messages before the last assistant message are the prompt.
        case finalAssistantTurn
    }

    public struct Options: Sendable, Equatable {
        /// Truncation of every example. Default: none.
        public var truncation: TruncationPolicy
        /// Append EOS to plain completions and {"text"} rows. Default true (as TRL).
        public var appendEOS: Bool
        /// Which part of a {"messages"} row is completion. Default `.allTokens`.
        public var conversationLoss: ConversationLoss

        public init(truncation: TruncationPolicy = .none, appendEOS: Bool = true, conversationLoss: ConversationLoss = .allTokens) {
            self.truncation = truncation; self.appendEOS = appendEOS; self.conversationLoss = conversationLoss
        }
    }

    public let tokenizer: Tokenizer
    public var options: Options

    public init(tokenizer: Tokenizer, options: Options = Options()) throws {
        try options.truncation.validate()
        self.tokenizer = tokenizer; self.options = options
    }

    var bos: Int32? { tokenizer.bosTokenId.map(Int32.init) }

    // MARK: SFT

    /// Tokenizes and truncates SFT rows. Throws on the first bad row; skipped rows (policy
    /// `.skip`) are listed in the report; all rows skipped is `DataError.noExamples`.
    public func sft(_ rows: [SFTRow]) throws -> (examples: [TokenizedExample], report: TokenizationReport) {
        var report = TokenizationReport()
        var out: [TokenizedExample] = []
        out.reserveCapacity(rows.count)
        for row in rows {
            report.rows += 1
            let (p, c) = try split(row, report: &report)
            if let e = try finish(prompt: p, completions: [c], source: row.source, report: &report) {
                out.append(TokenizedExample(ids: e.prompt + e.completions[0], promptLength: e.prompt.count, source: row.source))
            }
        }
        try checkNotEmpty(out.count, rows: rows.map(\.source), report: report)
        return (out, report)
    }

    /// Prompt and completion ids of one SFT row, before truncation.
    public func split(_ row: SFTRow) throws -> (prompt: [Int32], completion: [Int32]) {
        var report = TokenizationReport()
        return try split(row, report: &report)
    }

    func split(_ row: SFTRow, report: inout TokenizationReport) throws -> (prompt: [Int32], completion: [Int32]) {
        switch row.content {
        case let .promptCompletion(prompt, completion):
            return (ids(prompt, special: true), try withEOS(ids(completion, special: false), row.source))
        case let .text(text):
            return ([], try withEOS(ids(text, special: true), row.source))
        case let .chatPromptCompletion(prompt, completion):
            return try chatSplit(prompt: prompt, completion: completion, source: row.source, report: &report)
        case let .conversation(messages):
            switch options.conversationLoss {
            case .allTokens:
                return ([], try chat(messages, generationPrompt: false, source: row.source))
            case .finalAssistantTurn:
                guard let i = messages.lastIndex(where: { $0.role == "assistant" }) else {
                    throw DataError.invalidRow(row.source, "field \"messages\": no assistant message to train on")
                }
                return try chatSplit(prompt: Array(messages[..<i]), completion: Array(messages[i...]), source: row.source, report: &report)
            }
        }
    }

    // MARK: preferences

    /// Tokenizes preference rows: one prompt (truncated once) shared by all its responses.
    /// A row is skipped (or refused) if a response ends up empty; a rated row whose ratings
    /// give no comparison at `minRatingGap` is skipped and listed in the report.
    public func preferences(_ rows: [PreferenceRow], minRatingGap: Double = 0) throws -> (groups: [PreferenceGroup], report: TokenizationReport) {
        var report = TokenizationReport()
        var out: [PreferenceGroup] = []
        for row in rows {
            report.rows += 1
            // A pair is a group of two with one comparison.
            let prompt: RowContent, completions: [RowContent], better: [Int], worse: [Int]
            switch row.content {
            case let .plain(p, c, r): (prompt, completions, better, worse) = (.text(p), [.text(c), .text(r)], [0], [1])
            case let .chat(p, c, r): (prompt, completions, better, worse) = (.messages(p), [.messages(c), .messages(r)], [0], [1])
            case let .rated(p, cs, ratings):
                (better, worse) = PreferenceGroup.comparisons(ratings: ratings, minGap: minRatingGap)
                guard !better.isEmpty else { report.skippedNoComparison.append(row.source); continue }
                (prompt, completions) = (p, cs)
            }
            let (promptIds, responses) = try responseIds(prompt: prompt, completions: completions, source: row.source, report: &report)
            guard let e = try finish(prompt: promptIds, completions: responses, source: row.source, report: &report) else { continue }
            out.append(PreferenceGroup(
                sequences: e.completions.map { TokenizedExample(ids: e.prompt + $0, promptLength: e.prompt.count, source: row.source) },
                better: better, worse: worse))
        }
        try checkNotEmpty(out.count, rows: rows.map(\.source), report: report)
        return (out, report)
    }

    /// Prompt ids and each response's ids: plain text as prompt + response + EOS, chat
    /// through the template (the parser guarantees all are of the prompt's kind).
    func responseIds(prompt: RowContent, completions: [RowContent], source: SourceLine,
                     report: inout TokenizationReport) throws -> (prompt: [Int32], completions: [[Int32]]) {
        switch prompt {
        case .text(let p):
            return (ids(p, special: true), try completions.map { c in
                guard case .text(let t) = c else { throw DataError.invalidRow(source, "responses must be strings like the prompt") }
                return try withEOS(ids(t, special: false), source)
            })
        case .messages(let m):
            var splits: [(prompt: [Int32], completion: [Int32])] = []
            for c in completions {
                guard case .messages(let cm) = c else { throw DataError.invalidRow(source, "responses must be messages like the prompt") }
                splits.append(try chatSplit(prompt: m, completion: cm, source: source, report: &report))
            }
            return (splits[0].prompt, splits.map(\.completion))
        }
    }

    /// One plain prompt + response as the trainers tokenize plain rows: encode(prompt) with
    /// special tokens, encode(response) without, then EOS when the response ended with it.
    /// A reward model with its own tokenizer scores a policy's response this way, i.e. as it
    /// saw completions in training (not the joined text, which can merge across the seam).
    public func plain(prompt: String, response: String, endsWithEOS: Bool) throws -> [Int32] {
        let body = ids(response, special: false)
        guard endsWithEOS else { return ids(prompt, special: true) + body }
        return ids(prompt, special: true) + (try withEOS(body, SourceLine(file: "<response>", line: 0)))
    }

    // MARK: prompts

    /// Tokenizes PPO prompts (chat prompts end with the generation prompt); only
    /// `maxPromptLength` applies (keeping the tail). A prompt with no tokens is an error.
    public func prompts(_ rows: [PromptRow]) throws -> (prompts: [PromptExample], report: TokenizationReport) {
        var report = TokenizationReport()
        var out: [PromptExample] = []
        for row in rows {
            report.rows += 1
            var p: [Int32]
            switch row.prompt {
            case .text(let s): p = ids(s, special: true)
            case .messages(let m): p = try chat(m, generationPrompt: true, source: row.source)
            }
            guard !p.isEmpty else { throw DataError.invalidRow(row.source, "field \"prompt\": no tokens") }
            let t = options.truncation.truncatePrompt(p, bos: bos)
            if t.count != p.count { report.truncated += 1 }
            p = t
            out.append(PromptExample(ids: p, answer: row.answer, source: row.source))
            report.examples += 1
        }
        return (out, report)
    }

    // MARK: helpers

    func ids(_ text: String, special: Bool) -> [Int32] {
        tokenizer.encode(text, addSpecialTokens: special).map { Int32(truncatingIfNeeded: $0) }
    }

    func withEOS(_ ids: [Int32], _ source: SourceLine) throws -> [Int32] {
        guard options.appendEOS else { return ids }
        guard let eos = tokenizer.eosTokenId.map(Int32.init) else {
            throw DataError.invalidArgument("\(source): the tokenizer has no eos_token to append; set append_eos to false")
        }
        return ids.last == eos ? ids : ids + [eos]
    }

    func chat(_ messages: [ChatMessage], generationPrompt: Bool, source: SourceLine) throws -> [Int32] {
        do {
            return try tokenizer.encodeChat(messages, addGenerationPrompt: generationPrompt).map { Int32(truncatingIfNeeded: $0) }
        } catch {
            throw DataError.invalidRow(source, "chat template: \(error)")
        }
    }

    func chatSplit(prompt: [ChatMessage], completion: [ChatMessage], source: SourceLine,
                   report: inout TokenizationReport) throws -> (prompt: [Int32], completion: [Int32]) {
        let p = try chat(prompt, generationPrompt: true, source: source)
        let full = try chat(prompt + completion, generationPrompt: false, source: source)
        if !full.starts(with: p), !report.promptPrefixMismatches.contains(source) { report.promptPrefixMismatches.append(source) }
        return (p, Array(full.dropFirst(p.count)))
    }

    /// Applies the truncation policy to a prompt and its completions (1 for SFT, 2+ for preferences).
    func finish(prompt: [Int32], completions: [[Int32]], source: SourceLine,
                report: inout TokenizationReport) throws -> (prompt: [Int32], completions: [[Int32]])? {
        let policy = options.truncation
        let p = policy.truncatePrompt(prompt, bos: bos)
        let cs = completions.map { policy.truncateCompletion($0, promptLength: p.count) }
        if cs.contains(where: \.isEmpty) {
            switch policy.onEmptyCompletion {
            case .error: throw DataError.emptyCompletion(source, promptTokens: p.count, maxLength: policy.maxLength)
            case .skip: report.skippedEmptyCompletion.append(source); return nil
            }
        }
        if p.count != prompt.count || zip(cs, completions).contains(where: { $0.count != $1.count }) { report.truncated += 1 }
        report.examples += 1
        return (p, cs)
    }

    func checkNotEmpty(_ count: Int, rows: [SourceLine], report: TokenizationReport) throws {
        guard count == 0 else { return }
        throw rows.isEmpty ? DataError.invalidArgument("no rows to tokenize")
                           : DataError.noExamples(file: rows[0].file, skipped: report.skippedEmptyCompletion.count,
                                                                  withoutComparison: report.skippedNoComparison.count)
    }
}
