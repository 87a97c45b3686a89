// Batch encoding: truncation (HF semantics: the post-processor's special tokens are
// reserved first), then padding on the left or right with attention masks. Single-threaded
// by design: callers parallelise across batches. Leaves out stride/overflowing tokens.

public struct Truncation: Sendable, Equatable {
    public enum Side: String, Sendable { case left, right }
    /// Longest sequence kept, special tokens included.
    public var maxLength: Int
    public var side: Side
    public init(maxLength: Int, side: Side = .right) {
        self.maxLength = maxLength
        self.side = side
    }

    static func parse(_ j: JSONValue) throws -> Truncation {
        guard let m = j["max_length"]?.int else { throw TokenizerError.invalidConfig("truncation without max_length") }
        guard (0...Tokenizer.maxSequenceLength).contains(m) else {
            throw TokenizerError.invalidConfig("truncation.max_length \(m) outside 0...\(Tokenizer.maxSequenceLength)")
        }
        if let s = j["stride"]?.int, s != 0 { throw TokenizerError.unsupported(component: "truncation option", type: "stride \(s)") }
        let dir = (j["direction"]?.string ?? "Right").lowercased()
        return Truncation(maxLength: m, side: dir == "left" ? .left : .right)
    }

    func truncate(_ ids: [Int32], reserve: Int) -> [Int32] {
        let keep = maxLength > reserve ? maxLength - reserve : 0
        if ids.count <= keep { return ids }
        return side == .right ? Array(ids.prefix(keep)) : Array(ids.suffix(keep))
    }
}

public struct Padding: Sendable, Equatable {
    public enum Side: String, Sendable { case left, right }
    public enum Length: Sendable, Equatable {
        /// Pad to the longest sequence of the batch.
        case longest
        /// Pad every sequence to this many ids (longer ones are left as they are).
        case fixed(Int)
    }
    public var length: Length
    public var side: Side
    /// Round the padded length up to a multiple of this (e.g. 8), if set.
    public var multipleOf: Int?
    /// Pad id; nil means the tokenizer's `pad_token` from tokenizer_config.json.
    public var padId: Int?

    public init(length: Length = .longest, side: Side = .right, multipleOf: Int? = nil, padId: Int? = nil) {
        self.length = length
        self.side = side
        self.multipleOf = multipleOf
        self.padId = padId
    }

    static func parse(_ j: JSONValue) throws -> Padding {
        var p = Padding()
        // Both lengths size the padded rows, so they are bounded before any batch is built.
        if let fixed = j["strategy"]?["Fixed"]?.int {
            guard (0...Tokenizer.maxSequenceLength).contains(fixed) else {
                throw TokenizerError.invalidConfig("padding.strategy.Fixed \(fixed) outside 0...\(Tokenizer.maxSequenceLength)")
            }
            p.length = .fixed(fixed)
        }
        p.side = (j["direction"]?.string ?? "Right").lowercased() == "left" ? .left : .right
        p.multipleOf = j["pad_to_multiple_of"]?.int
        if let m = p.multipleOf, !(0...Tokenizer.maxSequenceLength).contains(m) {
            throw TokenizerError.invalidConfig("padding.pad_to_multiple_of \(m) outside 0...\(Tokenizer.maxSequenceLength)")
        }
        p.padId = try j["pad_id"]?.int.map { Int(try Tokenizer.checkedId($0, "padding.pad_id")) }
        return p
    }
}

/// Ids and masks of a padded batch: (B, T) each, 1 = real token, 0 = padding.
public struct BatchEncoding: Sendable, Equatable {
    public var inputIds: [[Int]]
    public var attentionMask: [[Int]]
}

extension Tokenizer {
    /// Encodes each text, truncates, adds special tokens, then pads. `padding: nil` leaves
    /// lengths ragged (masks all ones). Throws if padding is needed but no pad id is known.
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true,
                            truncation: Truncation? = nil, padding: Padding? = Padding()) throws -> BatchEncoding {
        let trunc = truncation ?? defaultTruncation
        let reserve = addSpecialTokens ? (postProcessor?.addedTokens(pair: false) ?? 0) : 0
        var ids: [[Int]] = texts.map { text in
            var m = modelIds(text)
            if let t = trunc { m = t.truncate(m, reserve: reserve) }
            return finish(m, nil, addSpecialTokens: addSpecialTokens).map(Int.init)
        }
        var mask = ids.map { [Int](repeating: 1, count: $0.count) }
        guard let pad = padding ?? defaultPadding else { return BatchEncoding(inputIds: ids, attentionMask: mask) }
        var target: Int
        switch pad.length {
        case .longest: target = ids.map(\.count).max() ?? 0
        case .fixed(let n):
            guard (0...Tokenizer.maxSequenceLength).contains(n) else {
                throw TokenizerError.invalidConfig("fixed padding length \(n) outside 0...\(Tokenizer.maxSequenceLength)")
            }
            target = n
        }
        if let m = pad.multipleOf, !(0...Tokenizer.maxSequenceLength).contains(m) {
            throw TokenizerError.invalidConfig("pad_to_multiple_of \(m) outside 0...\(Tokenizer.maxSequenceLength)")
        }
        if let m = pad.multipleOf, m > 0, target % m != 0 { target += m - target % m }
        guard let padId = pad.padId ?? padTokenId else {
            if ids.allSatisfy({ $0.count >= target }) { return BatchEncoding(inputIds: ids, attentionMask: mask) }
            throw TokenizerError.invalidConfig("padding requested but the tokenizer has no pad_token; pass Padding(padId:)")
        }
        for k in ids.indices where ids[k].count < target {
            let n = target - ids[k].count
            let fill = [Int](repeating: padId, count: n), zeros = [Int](repeating: 0, count: n)
            if pad.side == .right { ids[k] += fill; mask[k] += zeros } else { ids[k] = fill + ids[k]; mask[k] = zeros + mask[k] }
        }
        return BatchEncoding(inputIds: ids, attentionMask: mask)
    }
}
