// `TruncationPolicy`: how over-long examples are cut (the prompt keeps its tail, the
// completion its head, steps on the type) and what happens to a completion left with zero
// tokens: an error naming the row, or a counted skip. Leaves out sliding windows and packing.
import Foundation

/// Two steps:
/// 1. a prompt longer than `maxPromptLength` keeps its LAST tokens (the part nearest the
///    answer), plus its first token when that is BOS;
/// 2. if prompt + completion is longer than `maxLength`, the completion keeps its FIRST
///    tokens. With no step 1 and no prompt this is plain right truncation, as TRL's SFT.
public struct TruncationPolicy: Sendable, Equatable {
    public enum EmptyCompletion: Sendable, Equatable {
        /// Throw `DataError.emptyCompletion` naming the row (default).
        case error
        /// Drop the row and list it in `TokenizationReport.skippedEmptyCompletion`.
        case skip
    }

    /// Maximum tokens per sequence (prompt + completion); nil = unlimited.
    public var maxLength: Int?
    /// Maximum prompt tokens; nil = the prompt is only limited by `maxLength`.
    public var maxPromptLength: Int?
    /// What to do when nothing of the completion fits. Default `.error`.
    public var onEmptyCompletion: EmptyCompletion

    public init(maxLength: Int? = nil, maxPromptLength: Int? = nil, onEmptyCompletion: EmptyCompletion = .error) {
        self.maxLength = maxLength; self.maxPromptLength = maxPromptLength; self.onEmptyCompletion = onEmptyCompletion
    }

    public static let none = TruncationPolicy()

    func validate() throws {
        if let m = maxLength, m < 1 { throw DataError.invalidArgument("max_length must be >= 1, got \(m)") }
        if let m = maxPromptLength, m < 1 { throw DataError.invalidArgument("max_prompt_length must be >= 1, got \(m)") }
    }

    /// Step 1 only: the prompt's tail (keeping a leading `bos`).
    public func truncatePrompt(_ prompt: [Int32], bos: Int32?) -> [Int32] {
        guard let m = maxPromptLength, prompt.count > m else { return prompt }
        if let bos, prompt.first == bos, m >= 2 { return [bos] + prompt.suffix(m - 1) }
        return Array(prompt.suffix(m))
    }

    /// Step 2 for one completion after the prompt has been through step 1.
    public func truncateCompletion(_ completion: [Int32], promptLength: Int) -> [Int32] {
        guard let m = maxLength, promptLength + completion.count > m else { return completion }
        return Array(completion.prefix(max(0, m - promptLength)))
    }
}
