// Field access for dataset rows with TRL's conventions: a field is either plain text or a
// list of chat messages `{"role", "content"}`. Every failure names the row and the field
// ("field \"messages[2].content\": expected a string, got null"). Extra keys in a row or a
// message (e.g. "id", "name") are ignored, as TRL ignores extra columns.
import Foundation
import Tokenizers

/// A prompt or response as a dataset gives it: plain text or chat messages.
public enum RowContent: Sendable, Equatable {
    case text(String)
    case messages([ChatMessage])

    public var isChat: Bool { if case .messages = self { return true }; return false }
}

extension JSONLRow {
    func fail(_ message: String) -> DataError { .invalidRow(source, message) }

    /// A required field, absent or null -> `missing field "name"`.
    func required(_ key: String) throws -> JSONValue {
        guard let v = self[key], !v.isNull else { throw fail("missing field \"\(key)\"") }
        return v
    }

    func text(_ key: String) throws -> String {
        let v = try required(key)
        guard let s = v.string else { throw fail("field \"\(key)\": expected a string, got \(JSONLines.kind(v))") }
        return s
    }

    func messages(_ key: String) throws -> [ChatMessage] {
        let v = try required(key)
        guard let list = v.array else { throw fail("field \"\(key)\": expected a list of messages, got \(JSONLines.kind(v))") }
        return try parseMessages(list, key: key)
    }

    /// Text or a list of messages.
    func content(_ key: String) throws -> RowContent {
        let v = try required(key)
        if let s = v.string { return .text(s) }
        if let list = v.array { return .messages(try parseMessages(list, key: key)) }
        throw fail("field \"\(key)\": expected a string or a list of messages, got \(JSONLines.kind(v))")
    }

    func parseMessages(_ list: [JSONValue], key: String) throws -> [ChatMessage] {
        guard !list.isEmpty else { throw fail("field \"\(key)\": empty list of messages") }
        return try list.enumerated().map { i, m in
            let at = "\(key)[\(i)]"
            guard m.objectPairs != nil else { throw fail("field \"\(at)\": expected a message object, got \(JSONLines.kind(m))") }
            var parts: [String] = []
            for field in ["role", "content"] {
                guard let v = m[field], !v.isNull else { throw fail("field \"\(at)\": missing \"\(field)\"") }
                guard let s = v.string else {
                    throw fail("field \"\(at).\(field)\": expected a string, got \(JSONLines.kind(v))")
                }
                parts.append(s)
            }
            return ChatMessage(role: parts[0], content: parts[1])
        }
    }
}
