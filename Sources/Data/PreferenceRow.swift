// `PreferenceRow`: one pairwise preference in TRL's explicit-prompt shape,
// {"prompt", "chosen", "rejected"}, all three plain strings or all three lists of chat
// messages (chosen/rejected then usually hold the assistant turn). Leaves out TRL's
// implicit-prompt form (no "prompt"; shared prefix extracted) and per-row margins.
import Foundation
import Tokenizers

public struct PreferenceRow: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case plain(prompt: String, chosen: String, rejected: String)
        case chat(prompt: [ChatMessage], chosen: [ChatMessage], rejected: [ChatMessage])
    }

    public var content: Content
    public var source: SourceLine

    public init(_ content: Content, source: SourceLine = SourceLine(file: "<inline>", line: 0)) {
        self.content = content; self.source = source
    }

    public static func load(_ url: URL) throws -> [PreferenceRow] { try JSONLines.read(url).map(PreferenceRow.init(row:)) }

    public static func parse(_ data: Foundation.Data, file: String) throws -> [PreferenceRow] {
        try JSONLines.parse(data, file: file).map(PreferenceRow.init(row:))
    }

    public init(row: JSONLRow) throws {
        source = row.source
        let p = try row.content("prompt"), c = try row.content("chosen"), r = try row.content("rejected")
        switch (p, c, r) {
        case let (.text(p), .text(c), .text(r)): content = .plain(prompt: p, chosen: c, rejected: r)
        case let (.messages(p), .messages(c), .messages(r)): content = .chat(prompt: p, chosen: c, rejected: r)
        default:
            throw row.fail("fields \"prompt\", \"chosen\" and \"rejected\" must all be strings or all be lists of messages")
        }
    }
}
