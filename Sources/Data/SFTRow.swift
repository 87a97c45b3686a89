// `SFTRow`: one supervised fine-tuning row in one of TRL's shapes: prompt/completion (plain
// strings or message lists), {"text"}, or {"messages": [{"role", "content"}]}. The shape is
// chosen per row by its keys ("messages", then "text", then "prompt"). Leaves out tools,
// images and `chat_template_kwargs`.
import Foundation
import Tokenizers

public struct SFTRow: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case promptCompletion(prompt: String, completion: String)
        case chatPromptCompletion(prompt: [ChatMessage], completion: [ChatMessage])
        case text(String)
        case conversation([ChatMessage])
    }

    public var content: Content
    public var source: SourceLine

    public init(_ content: Content, source: SourceLine = SourceLine(file: "<inline>", line: 0)) {
        self.content = content; self.source = source
    }

    /// Rows of a JSONL file (see `JSONLines` for blank lines and empty files).
    public static func load(_ url: URL) throws -> [SFTRow] { try JSONLines.read(url).map(SFTRow.init(row:)) }

    public static func parse(_ data: Foundation.Data, file: String) throws -> [SFTRow] {
        try JSONLines.parse(data, file: file).map(SFTRow.init(row:))
    }

    public init(row: JSONLRow) throws {
        source = row.source
        if row.has("messages") {
            content = .conversation(try row.messages("messages"))
        } else if row.has("text") {
            content = .text(try row.text("text"))
        } else if row.has("prompt") || row.has("completion") {
            let prompt = try row.content("prompt"), completion = try row.content("completion")
            switch (prompt, completion) {
            case let (.text(p), .text(c)): content = .promptCompletion(prompt: p, completion: c)
            case let (.messages(p), .messages(c)): content = .chatPromptCompletion(prompt: p, completion: c)
            default:
                throw row.fail("fields \"prompt\" and \"completion\" must both be strings or both be lists of messages")
            }
        } else {
            let found = row.fields.map { "\"\($0.0)\"" }.joined(separator: ", ")
            throw row.fail("expected fields \"prompt\"+\"completion\", \"text\" or \"messages\"; found "
                           + (found.isEmpty ? "none" : found))
        }
    }
}
