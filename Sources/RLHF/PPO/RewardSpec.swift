// RewardSpec: the config's `reward` object — a built-in rule or a user command:
//   {"type": "regex", "pattern": "...", "match_reward": 1, "miss_reward": 0}
//   {"type": "keywords", "words": ["good", "great"], "per_keyword": 1}
//   {"type": "exact_answer", "match": "exact" | "contains"}   (uses each prompt row's "answer")
//   {"type": "length", "target": 20, "unit": "words" | "tokens"}   (-|len - target| / target)
//   {"type": "command", "command": ["python3", "score.py"], "timeout_seconds": 60}
import Foundation
import RunKit

public struct RewardSpec: Decodable, Sendable, Equatable {
    public enum Kind: String, Decodable, Sendable { case regex, keywords, exactAnswer = "exact_answer", length, command }
    public var type: Kind
    public var pattern: String?
    public var matchReward: Float = 1
    public var missReward: Float = 0
    public var words: [String]?
    public var perKeyword: Float = 1
    public var match = "exact"
    public var target: Int?
    public var unit = "words"
    public var command: [String]?
    public var timeoutSeconds: Double = 60

    enum CodingKeys: String, CodingKey {
        case type, pattern, matchReward = "match_reward", missReward = "miss_reward", words, perKeyword = "per_keyword"
        case match, target, unit, command, timeoutSeconds = "timeout_seconds"
    }

    public init(type: Kind) { self.type = type }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decode(Kind.self, forKey: .type)
        pattern = try c.decodeIfPresent(String.self, forKey: .pattern)
        matchReward = try c.decode(.matchReward, default: 1)
        missReward = try c.decode(.missReward, default: 0)
        words = try c.decodeIfPresent([String].self, forKey: .words)
        perKeyword = try c.decode(.perKeyword, default: 1)
        match = try c.decode(.match, default: "exact")
        target = try c.decodeIfPresent(Int.self, forKey: .target)
        unit = try c.decode(.unit, default: "words")
        command = try c.decodeIfPresent([String].self, forKey: .command)
        timeoutSeconds = try c.decode(.timeoutSeconds, default: 60)
    }

    func validate(file: String) throws {
        func need(_ ok: Bool, _ field: String, _ m: String) throws {
            if !ok { throw ConfigError.invalidValue(file: file, field: "reward.\(field)", message: m) }
        }
        switch type {
        case .regex:
            try need(pattern != nil, "pattern", "a regex reward needs a pattern")
            do { _ = try NSRegularExpression(pattern: pattern!) } catch {
                throw ConfigError.invalidValue(file: file, field: "reward.pattern", message: "not a valid regular expression: \(pattern!)")
            }
        case .keywords: try need(!(words ?? []).isEmpty, "words", "a keywords reward needs a non-empty list of words")
        case .exactAnswer: try need(["exact", "contains"].contains(match), "match", "must be \"exact\" or \"contains\"")
        case .length:
            try need((target ?? 0) > 0, "target", "a length reward needs a positive target")
            try need(["words", "tokens"].contains(unit), "unit", "must be \"words\" or \"tokens\"")
        case .command:
            try need(!(command ?? []).isEmpty, "command", "a command reward needs a non-empty command array")
            try need(timeoutSeconds > 0, "timeout_seconds", "must be > 0")
        }
    }
}

/// The config's `reward`: one spec object, or a list of them.
struct RewardSpecList: Decodable {
    var specs: [RewardSpec]

    init(from decoder: Decoder) throws {
        // Read the raw value first (probing with try? would count as a type error in the strict
        // decoder), then decode each object strictly on its own so unknown keys still fail.
        switch try JSONTree(from: decoder) {
        case let .object(pairs):
            specs = [try StrictConfigDecoder.decode(RewardSpec.self, from: .object(pairs), file: "reward")]
        case let .array(items):
            specs = try items.enumerated().map { i, item in
                try StrictConfigDecoder.decode(RewardSpec.self, from: item, file: "reward[\(i)]")
            }
        default:
            throw DecodingError.typeMismatch(RewardSpec.self, .init(codingPath: decoder.codingPath,
                                                                    debugDescription: "reward must be an object or a list of objects"))
        }
    }
}
