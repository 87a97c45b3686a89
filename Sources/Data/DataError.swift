// `DataError`: every refusal of the Data target, naming the file and 1-based line of the
// row at fault ("train.jsonl:17: missing field \"completion\""), so a bad row in a large
// dataset can be found at once. `SourceLine` is that location, carried by every row and
// example. Leaves out recovery: callers decide whether to stop.
import Foundation

/// Where a row came from: file name (as given) and 1-based line number.
public struct SourceLine: Sendable, Equatable, Hashable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public init(file: String, line: Int) { self.file = file; self.line = line }
    public var description: String { "\(file):\(line)" }
}

public enum DataError: Error, CustomStringConvertible, Equatable {
    /// The file could not be read.
    case io(file: String, message: String)
    /// No rows at all (blank lines are skipped, so a file of blank lines is empty too).
    case emptyDataset(file: String)
    /// A row is not JSON, lacks a field or has a field of the wrong type.
    case invalidRow(SourceLine, String)
    /// Truncation left a row with no completion tokens (policy `.error`).
    case emptyCompletion(SourceLine, promptTokens: Int, maxLength: Int?)
    /// Every row was skipped (policy `.skip`, or rated rows without a comparison), leaving
    /// nothing to train on.
    case noExamples(file: String, skipped: Int, withoutComparison: Int = 0)
    /// A bad argument or an unusable tokenizer for the requested processing.
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .io(file, message): return "\(file): \(message)"
        case let .emptyDataset(file): return "\(file): empty dataset (no rows; blank lines are skipped)"
        case let .invalidRow(at, message): return "\(at): \(message)"
        case let .emptyCompletion(at, promptTokens, maxLength):
            return "\(at): the response has zero tokens after truncation (prompt has \(promptTokens) tokens, max_length "
                + (maxLength.map(String.init) ?? "none")
                + "); raise max_length, set max_prompt_length, or skip such rows"
        case let .noExamples(file, skipped, withoutComparison):
            return "\(file): no examples left (\(skipped) rows skipped because truncation emptied their responses"
                + (withoutComparison > 0 ? ", \(withoutComparison) rated rows without two ratings min_rating_gap apart)" : ")")
        case let .invalidArgument(message): return message
        }
    }
}
