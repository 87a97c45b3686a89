// `Collator`: token sequences -> one padded batch (`CollatedBatch`, flat row-major (B*T)
// arrays, no Models dependency): ids, attention mask, positions, labels, loss mask; left or
// right padding; preference groups with the rows of each comparison. Leaves out packing
// several sequences into one row.
import Foundation
import Tokenizers

/// B rows, T = longest row (or a fixed / multiple-of length). Positions = cumsum(mask) - 1
/// clamped at 0, so left padding does not shift positions. Labels are NOT shifted (HF
/// `labels` convention: the logit at t is scored against labels[t + 1]).
public struct CollatedBatch: Sendable, Equatable {
    /// (B*T) token ids, pads = the collator's pad id.
    public var ids: [Int32]
    public var batch: Int
    public var time: Int
    /// (B*T) 1 on real tokens, 0 on padding.
    public var attentionMask: [Float]
    /// (B*T) cumsum(mask) - 1, clamped at 0.
    public var positions: [Int32]
    /// (B*T) ids where the loss applies, `Collator.ignoreIndex` (-100) elsewhere.
    public var labels: [Int32]
    /// (B*T) 1 where labels != -100.
    public var lossMask: [Float]
    /// (B) real tokens per row.
    public var lengths: [Int]

    /// Row `b` of a (B*T) array.
    public func row<T>(_ b: Int, of a: [T]) -> ArraySlice<T> { a[b * time..<(b + 1) * time] }
}

/// Preference groups as one batch: each response is one row, scored once however many
/// comparisons it is in.
public struct PreferenceBatch: Sendable, Equatable {
    public var batch: CollatedBatch
    /// (C) the preferred row of each comparison.
    public var better: [Int32]
    /// (C) the other row.
    public var worse: [Int32]
    /// (G) how many rows each group of the batch became, in order (a pair: 2).
    public var groupSizes: [Int] = []
}

public struct Collator: Sendable, Equatable {
    public enum PaddingSide: Sendable, Equatable { case left, right }
    public enum LossTokens: Sendable, Equatable {
        /// Completion tokens only (prompt and padding -100). Default.
        case completion
        /// Every real token.
        case all
    }

    public static let ignoreIndex: Int32 = -100

    /// Id written into padding (`padId(for:)` picks pad, else eos).
    public var padId: Int32
    /// Default `.right` (training); `.left` for generation prompts.
    public var paddingSide: PaddingSide
    public var lossTokens: LossTokens
    /// Round T up to a multiple of this (e.g. 8), if set.
    public var padToMultipleOf: Int?
    /// Pad every batch to exactly this T (a longer row is an error), if set.
    public var fixedLength: Int?

    public init(padId: Int32, paddingSide: PaddingSide = .right, lossTokens: LossTokens = .completion,
                padToMultipleOf: Int? = nil, fixedLength: Int? = nil) {
        self.padId = padId; self.paddingSide = paddingSide; self.lossTokens = lossTokens
        self.padToMultipleOf = padToMultipleOf; self.fixedLength = fixedLength
    }

    /// The tokenizer's pad token, else its eos token (the usual fallback), else nil.
    public static func padId(for tokenizer: Tokenizer) -> Int32? {
        (tokenizer.padTokenId ?? tokenizer.eosTokenId).map(Int32.init)
    }

    /// SFT batch: B = examples.count.
    public func collate(_ examples: [TokenizedExample]) throws -> CollatedBatch {
        try collate(sequences: examples.map(\.ids), promptLengths: examples.map(\.promptLength))
    }

    /// Preference batch: every sequence of every group once, group after group, all padded
    /// to one T; `better`/`worse` index the batch rows of each comparison, in group order.
    public func collate(groups: [PreferenceGroup]) throws -> PreferenceBatch {
        var sequences: [TokenizedExample] = [], better: [Int32] = [], worse: [Int32] = [], sizes: [Int] = []
        for g in groups {
            let base = Int32(sequences.count)
            sequences += g.sequences
            sizes.append(g.sequences.count)
            better += g.better.map { base + Int32($0) }
            worse += g.worse.map { base + Int32($0) }
        }
        return PreferenceBatch(batch: try collate(sequences), better: better, worse: worse, groupSizes: sizes)
    }

    /// Prompt batch for generation (labels all -100); usually with `.left` padding.
    public func collate(prompts: [PromptExample]) throws -> CollatedBatch {
        try collate(sequences: prompts.map(\.ids), promptLengths: prompts.map(\.ids.count))
    }

    /// The core: rows of ids, each with its prompt length (tokens before it get no loss).
    public func collate(sequences: [[Int32]], promptLengths: [Int]) throws -> CollatedBatch {
        guard !sequences.isEmpty else { throw DataError.invalidArgument("cannot collate an empty batch") }
        guard promptLengths.count == sequences.count else {
            throw DataError.invalidArgument("\(sequences.count) sequences but \(promptLengths.count) prompt lengths")
        }
        let longest = sequences.map(\.count).max()!
        var T = max(longest, 1)
        if let m = padToMultipleOf, m > 1 { T = (T + m - 1) / m * m }
        if let f = fixedLength {
            guard longest <= f else { throw DataError.invalidArgument("a row of \(longest) tokens exceeds the fixed length \(f)") }
            T = f
        }
        let B = sequences.count
        var ids = [Int32](repeating: padId, count: B * T)
        var mask = [Float](repeating: 0, count: B * T)
        var positions = [Int32](repeating: 0, count: B * T)
        var labels = [Int32](repeating: Self.ignoreIndex, count: B * T)
        var lossMask = [Float](repeating: 0, count: B * T)
        for (b, seq) in sequences.enumerated() {
            let n = seq.count
            let offset = paddingSide == .left ? T - n : 0
            let firstLoss = lossTokens == .all ? 0 : min(max(promptLengths[b], 0), n)
            for (t, id) in seq.enumerated() {
                let k = b * T + offset + t
                ids[k] = id
                mask[k] = 1
                if t >= firstLoss { labels[k] = id; lossMask[k] = 1 }
            }
            // positions = cumsum(mask) - 1, clamped at 0 (the plain formula, row by row).
            var cum: Int32 = 0
            for t in 0..<T {
                cum += Int32(mask[b * T + t])
                positions[b * T + t] = max(cum - 1, 0)
            }
        }
        return CollatedBatch(ids: ids, batch: B, time: T, attentionMask: mask, positions: positions,
                             labels: labels, lossMask: lossMask, lengths: sequences.map(\.count))
    }
}
