// `Decision`: what a labeller posts for one item, parsed strictly from the request's JSON
// (every failure names the field and becomes a 400). Leaves out free-form per-response text:
// one short note per item is all a labeller writes.
import Foundation
import Tokenizers

/// A request the server refuses; `status` is the 4xx code sent back.
public struct RequestError: Error, CustomStringConvertible, Equatable {
    public var status: Int
    public var message: String
    public init(_ status: Int, _ message: String) { self.status = status; self.message = message }
    public var description: String { "\(status): \(message)" }
}

public enum Verdict: Sendable, Equatable {
    case a, b, tie, skip
    /// Rate mode: one rating in 1...5 per response, in slot order.
    case rated([Int])

    /// The "choice" a row records.
    var name: String {
        switch self {
        case .a: return "A"
        case .b: return "B"
        case .tie: return "tie"
        case .skip: return "skip"
        case .rated: return "rated"
        }
    }
}

public enum Thumb: String, Sendable {
    case up, down
}

struct Decision: Sendable, Equatable {
    var item: Int
    var verdict: Verdict
    /// One per slot (pair mode), nil = no thumb.
    var thumbs: [Thumb?]
    var note: String

    static let maxNote = 500

    static func parse(_ body: JSONValue, mode: LabelMode, slots: Int) throws(RequestError) -> Decision {
        guard let item = body["item"]?.int, item >= 0 else { throw RequestError(400, "field \"item\": expected an integer >= 0") }
        var verdict: Verdict
        switch body["choice"] {
        case .string("A")? where mode == .pair: verdict = .a
        case .string("B")? where mode == .pair: verdict = .b
        case .string("tie")? where mode == .pair: verdict = .tie
        case .string("skip")?: verdict = .skip
        case nil where mode == .rate, .null? where mode == .rate: verdict = .rated([])
        default:
            throw RequestError(400, mode == .pair ? "field \"choice\": expected \"A\", \"B\", \"tie\" or \"skip\""
                                                  : "field \"choice\": only \"skip\" (or leave it out and send \"ratings\")")
        }
        if case .rated = verdict {
            guard let list = body["ratings"]?.array, list.count == slots else {
                throw RequestError(400, "field \"ratings\": expected a list of \(slots) integers in 1...5")
            }
            var ratings: [Int] = []
            for (i, v) in list.enumerated() {
                guard let r = v.int, (1...5).contains(r) else {
                    throw RequestError(400, "field \"ratings[\(i)]\": expected an integer in 1...5")
                }
                ratings.append(r)
            }
            verdict = .rated(ratings)
        }
        var thumbs = [Thumb?](repeating: nil, count: slots)
        switch body["thumbs"] {
        case nil, .null?: break
        case .array(let list)? where list.count == slots:
            for (i, v) in list.enumerated() {
                switch v {
                case .null: break
                case .string(let s) where Thumb(rawValue: s) != nil: thumbs[i] = Thumb(rawValue: s)
                default: throw RequestError(400, "field \"thumbs[\(i)]\": expected \"up\", \"down\" or null")
                }
            }
        default: throw RequestError(400, "field \"thumbs\": expected a list of \(slots) entries")
        }
        var note = ""
        switch body["note"] {
        case nil, .null?: break
        case .string(let s)?:
            guard s.count <= maxNote else { throw RequestError(400, "field \"note\": at most \(maxNote) characters, got \(s.count)") }
            note = s
        default: throw RequestError(400, "field \"note\": expected a string")
        }
        return Decision(item: item, verdict: verdict, thumbs: thumbs, note: note)
    }

    /// A labeller's name as rows record it: 1-40 of letters, digits, space, dot, dash, underscore.
    static func labeller(_ body: JSONValue) throws(RequestError) -> String {
        guard let raw = body["labeller"]?.string else { throw RequestError(400, "field \"labeller\": expected a string") }
        let name = raw.trimmingCharacters(in: .whitespaces)
        let ok = (1...40).contains(name.count) && name.unicodeScalars.allSatisfy {
            ($0.isASCII && (CharacterSet.alphanumerics.contains($0))) || " ._-".unicodeScalars.contains($0)
        }
        guard ok else { throw RequestError(400, "field \"labeller\": 1 to 40 characters of A-Z a-z 0-9 space . _ -") }
        return name
    }
}
