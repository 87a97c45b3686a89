// `PreferenceRow`: preferences over responses to one prompt, in two shapes:
// - TRL's explicit-prompt pair {"prompt", "chosen", "rejected"};
// - a rated group {"prompt", "completions": [K >= 2], "ratings": [K numbers]} (higher is
//   better), InstructGPT's K-wise shape: every pair of its responses whose ratings differ by
//   at least the trainer's min_rating_gap is one comparison, and all of them are trained on
//   together, each response scored once.
// Prompt and responses are all plain strings or all lists of chat messages. Leaves out TRL's
// implicit-prompt form (no "prompt"; shared prefix extracted) and per-row margins.
import Foundation
import Tokenizers

public struct PreferenceRow: Sendable, Equatable {
    public enum Content: Sendable, Equatable {
        case plain(prompt: String, chosen: String, rejected: String)
        case chat(prompt: [ChatMessage], chosen: [ChatMessage], rejected: [ChatMessage])
        /// K >= 2 responses of the prompt's kind, with one finite rating each.
        case rated(prompt: RowContent, completions: [RowContent], ratings: [Double])
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
        if row["completions"] != nil {
            content = try Self.rated(row)
            return
        }
        let p = try row.content("prompt"), c = try row.content("chosen"), r = try row.content("rejected")
        switch (p, c, r) {
        case let (.text(p), .text(c), .text(r)): content = .plain(prompt: p, chosen: c, rejected: r)
        case let (.messages(p), .messages(c), .messages(r)): content = .chat(prompt: p, chosen: c, rejected: r)
        default:
            throw row.fail("fields \"prompt\", \"chosen\" and \"rejected\" must all be strings or all be lists of messages")
        }
    }

    static func rated(_ row: JSONLRow) throws -> Content {
        for key in ["chosen", "rejected"] where row[key] != nil {
            throw row.fail("a row has either \"completions\" and \"ratings\" or \"chosen\" and \"rejected\", not both (found \"\(key)\")")
        }
        let prompt = try row.content("prompt")
        guard let list = try row.required("completions").array else {
            throw row.fail("field \"completions\": expected a list of responses, got \(JSONLines.kind(row["completions"]!))")
        }
        guard let ratingList = try row.required("ratings").array else {
            throw row.fail("field \"ratings\": expected a list of numbers, got \(JSONLines.kind(row["ratings"]!))")
        }
        guard list.count >= 2 else { throw row.fail("field \"completions\": expected at least 2 responses, got \(list.count)") }
        guard ratingList.count == list.count else {
            throw row.fail("field \"ratings\": \(ratingList.count) ratings for \(list.count) completions")
        }
        let completions: [RowContent] = try list.enumerated().map { i, v in
            let at = "completions[\(i)]"
            if let s = v.string {
                guard !prompt.isChat else { throw row.fail("field \"\(at)\": expected a list of messages like the prompt, got a string") }
                return .text(s)
            }
            if let m = v.array {
                guard prompt.isChat else { throw row.fail("field \"\(at)\": expected a string like the prompt, got a list") }
                return .messages(try row.parseMessages(m, key: at))
            }
            throw row.fail("field \"\(at)\": expected a string or a list of messages, got \(JSONLines.kind(v))")
        }
        let ratings: [Double] = try ratingList.enumerated().map { i, v in
            let x: Double
            switch v {
            case .int(let n): x = Double(n)
            case .double(let d): x = d
            default: throw row.fail("field \"ratings[\(i)]\": expected a number, got \(JSONLines.kind(v))")
            }
            guard x.isFinite else { throw row.fail("field \"ratings[\(i)]\": expected a finite number, got \(x)") }
            return x
        }
        return .rated(prompt: prompt, completions: completions, ratings: ratings)
    }
}
