// Added tokens (special or not): found in the text before the model runs, leftmost-longest
// like HF's Aho-Corasick tries, with single_word / lstrip / rstrip / normalized honoured.
// Two matchers: one on raw text (normalized: false) and one on normalized pieces.
// Leaves out offsets and adding tokens after loading.

public struct AddedToken: Sendable, Equatable {
    public var content: String
    public var id: Int
    public var special: Bool
    public var singleWord: Bool
    public var lstrip: Bool
    public var rstrip: Bool
    public var normalized: Bool

    static func parse(_ j: JSONValue) throws -> AddedToken {
        guard let id = j["id"]?.int, let content = j["content"]?.string else {
            throw TokenizerError.invalidConfig("added token without id/content: \(j.serialized)")
        }
        let special = j["special"]?.bool ?? false
        _ = try Tokenizer.checkedId(id, "added_tokens entry '\(content)'")
        return AddedToken(content: content, id: id, special: special,
                          singleWord: j["single_word"]?.bool ?? false, lstrip: j["lstrip"]?.bool ?? false,
                          rstrip: j["rstrip"]?.bool ?? false, normalized: j["normalized"]?.bool ?? !special)
    }
}

/// Leftmost-longest matcher over a fixed set of byte patterns.
struct TokenMatcher {
    /// Pattern indices by first byte, longest pattern first.
    private var byFirst: [[Int]] = Array(repeating: [], count: 256)
    private var patterns: [[UInt8]] = []
    private(set) var tokenIndex: [Int] = []
    var isEmpty: Bool { patterns.isEmpty }

    init(_ items: [(pattern: [UInt8], token: Int)]) {
        for (p, t) in items where !p.isEmpty {
            byFirst[Int(p[0])].append(patterns.count)
            patterns.append(p)
            tokenIndex.append(t)
        }
        for k in 0..<256 where byFirst[k].count > 1 {
            byFirst[k].sort { patterns[$0].count > patterns[$1].count }
        }
    }

    /// Non-overlapping matches, leftmost first, longest at each start: (start, end, pattern).
    func matches(_ b: UnsafeBufferPointer<UInt8>) -> [(Int, Int, Int)] {
        var out: [(Int, Int, Int)] = []
        if patterns.isEmpty { return out }
        var i = 0
        let n = b.count
        while i < n {
            let cands = byFirst[Int(b[i])]
            var hit = -1
            for c in cands {
                let p = patterns[c]
                if i + p.count <= n, p.withUnsafeBytes({ memcmpBytes($0.baseAddress!, b.baseAddress! + i, p.count) }) {
                    hit = c; break
                }
            }
            if hit >= 0 {
                out.append((i, i + patterns[hit].count, hit))
                i += patterns[hit].count
            } else {
                i += 1
            }
        }
        return out
    }
}

struct AddedVocabulary {
    let tokens: [AddedToken]
    let raw: TokenMatcher
    let normalizedMatcher: TokenMatcher
    let specialIds: Set<Int>
    let byContent: [String: Int]
    let byId: [Int: String]

    init(_ tokens: [AddedToken], normalizer: Normalizer?) {
        self.tokens = tokens
        var rawItems: [([UInt8], Int)] = [], normItems: [([UInt8], Int)] = []
        for (k, t) in tokens.enumerated() {
            if t.normalized {
                normItems.append((Array((normalizer?.normalize(t.content) ?? t.content).utf8), k))
            } else {
                rawItems.append((Array(t.content.utf8), k))
            }
        }
        raw = TokenMatcher(rawItems)
        normalizedMatcher = TokenMatcher(normItems)
        specialIds = Set(tokens.filter(\.special).map(\.id))
        // HF reports a normalized token by its normalized content (id_to_token, decode).
        var m: [String: Int] = [:], r: [Int: String] = [:]
        for t in tokens {
            let shown = t.normalized ? (normalizer?.normalize(t.content) ?? t.content) : t.content
            m[t.content] = t.id; m[shown] = t.id; r[t.id] = shown
        }
        byContent = m
        byId = r
    }

    /// HF `find_matches`: splits covering the text; id >= 0 marks an added token.
    func split(_ b: UnsafeBufferPointer<UInt8>, _ matcher: TokenMatcher) -> [(Int, Int, Int32)] {
        if b.isEmpty { return [(0, 0, -1)] }
        var out: [(Int, Int, Int32)] = []
        var startOffset = 0
        for (s0, e0, p) in matcher.matches(b) {
            var start = s0, stop = e0
            let tok = tokens[matcher.tokenIndex[p]]
            if tok.singleWord {
                let startSpace = start == 0 || !endsWithWord(b, start)
                let stopSpace = stop == b.count || !startsWithWord(b, stop)
                if !startSpace || !stopSpace { continue }
            }
            if tok.lstrip {
                var ns = start
                // Leftmost start of the whitespace run ending at `start`.
                while ns > 0 {
                    var k = ns - 1
                    while k > 0 && b[k] & 0xC0 == 0x80 { k -= 1 }
                    if !classAt(b, k).0.contains(.space) { break }
                    ns = k
                }
                start = max(ns, startOffset)
            }
            if tok.rstrip {
                while stop < b.count {
                    let (c, len) = classAt(b, stop)
                    if !c.contains(.space) { break }
                    stop += len
                }
            }
            if startOffset < start { out.append((startOffset, start, -1)) }
            out.append((start, stop, Int32(tok.id)))
            startOffset = stop
        }
        if startOffset != b.count { out.append((startOffset, b.count, -1)) }
        return out
    }

    private func endsWithWord(_ b: UnsafeBufferPointer<UInt8>, _ end: Int) -> Bool {
        var k = end - 1
        while k > 0 && b[k] & 0xC0 == 0x80 { k -= 1 }
        return classAt(b, k).0.contains(.word)
    }
    private func startsWithWord(_ b: UnsafeBufferPointer<UInt8>, _ start: Int) -> Bool {
        classAt(b, start).0.contains(.word)
    }

    /// HF `extract_and_normalize`: raw-token split, normalize the rest, normalized-token split.
    func extractAndNormalize(_ text: String, normalizer: Normalizer?) -> Pieces {
        var p = Pieces()
        var s = text
        s.withUTF8 { b in
            p.buf.reserveCapacity(b.count + 16)
            for (start, end, id) in split(b, raw) {
                if id >= 0 { p.list.append(Piece(start: 0, end: 0, id: id, atStart: false)); continue }
                let seg = UnsafeBufferPointer(rebasing: b[start..<end])
                if normalizer == nil && normalizedMatcher.isEmpty {
                    let base = p.buf.count
                    p.buf.append(contentsOf: seg)
                    p.list.append(Piece(start: base, end: p.buf.count, id: -1, atStart: start == 0))
                    continue
                }
                var norm = String(decoding: seg, as: UTF8.self)
                if let n = normalizer { norm = n.normalize(norm) }
                norm.withUTF8 { nb in
                    let base = p.buf.count
                    p.buf.append(contentsOf: nb)
                    for (s2, e2, id2) in split(nb, normalizedMatcher) {
                        p.list.append(Piece(start: id2 >= 0 ? 0 : base + s2, end: id2 >= 0 ? 0 : base + e2, id: id2,
                                            atStart: id2 < 0 && start == 0 && s2 == 0))
                    }
                }
            }
        }
        return p
    }
}
