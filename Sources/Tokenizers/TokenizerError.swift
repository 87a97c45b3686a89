// The one error type of the Tokenizers target: every refusal names the component or the
// input at fault. Nothing here decides policy; callers choose whether to retry or stop.
import Foundation

public enum TokenizerError: Error, CustomStringConvertible, Equatable {
    /// The JSON text itself is malformed (offset is a UTF-8 byte index).
    case malformedJSON(String, offset: Int)
    /// A field is missing or has the wrong type in tokenizer.json / tokenizer_config.json.
    case invalidConfig(String)
    /// A component type (normalizer, pre-tokenizer, model, ...) this library does not
    /// implement. We refuse instead of tokenizing differently from Hugging Face.
    case unsupported(component: String, type: String)
    /// A merge names a token that is not in the vocabulary.
    case missingVocabEntry(String)
    /// A file could not be read.
    case io(String)
    /// Chat template errors: syntax, unsupported Jinja, bad operands.
    case template(String)
    /// The template itself refused the conversation via `raise_exception(message)`.
    case templateException(String)
    /// An id outside the vocabulary was given to decode.
    case unknownId(Int)

    public var description: String {
        switch self {
        case .malformedJSON(let m, let o): return "malformed JSON at byte \(o): \(m)"
        case .invalidConfig(let m): return "invalid tokenizer config: \(m)"
        case .unsupported(let c, let t): return "unsupported \(c) type '\(t)'"
        case .missingVocabEntry(let m): return "missing vocabulary entry: \(m)"
        case .io(let m): return "I/O error: \(m)"
        case .template(let m): return "chat template error: \(m)"
        case .templateException(let m): return "chat template raised: \(m)"
        case .unknownId(let id): return "token id \(id) is not in the vocabulary"
        }
    }
}
