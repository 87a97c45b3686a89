// Pre-tokenizers: cut normalized text into the pieces the model encodes one at a time
// (ByteLevel, Split, Digits, Metaspace, Whitespace, WhitespaceSplit, Punctuation,
// Sequence), as Hugging Face tokenizers does. Pieces that are added tokens pass through
// untouched. Leaves out offsets (not needed for ids) and CharDelimiterSplit, BertPreTokenizer,
// UnicodeScripts: those load as a clear `unsupported` error.

/// One pre-token: a byte range of `Pieces.buf`, or an added token's id.
struct Piece {
    var start: Int
    var end: Int
    /// Id of an added token already matched, or -1 for text still to encode.
    var id: Int32
    /// True for the piece that begins at offset 0 of the original text (Metaspace `first`).
    var atStart: Bool
}

/// The text as it moves through the pipeline: one byte buffer and the pieces cut from it.
struct Pieces {
    var buf: [UInt8] = []
    var list: [Piece] = []
}

enum SplitBehavior: String {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    static func parse(_ v: JSONValue?, default d: SplitBehavior) throws -> SplitBehavior {
        guard let v else { return d }
        guard let s = v.string, let b = SplitBehavior(rawValue: s) else {
            throw TokenizerError.invalidConfig("split behavior \(v.serialized)")
        }
        return b
    }

    /// Turns matches (pairs of offsets, sorted, non-overlapping) in a text of `length` bytes
    /// into the kept ranges, following HF's `NormalizedString::split`.
    func apply(matches: [Int], length: Int, invert: Bool, into out: inout [Int]) {
        // 1. Segments covering the text, each flagged as match or not.
        var segs: [(Int, Int, Bool)] = []
        var pos = 0
        var k = 0
        while k < matches.count {
            let s = matches[k], e = matches[k + 1]
            if s > pos { segs.append((pos, s, invert)) }
            segs.append((s, e, !invert))
            pos = e
            k += 2
        }
        if pos < length { segs.append((pos, length, invert)) }
        // 2. Behaviour.
        var kept: [(Int, Int)] = []
        switch self {
        case .isolated: kept = segs.map { ($0.0, $0.1) }
        case .removed: kept = segs.filter { !$0.2 }.map { ($0.0, $0.1) }
        case .mergedWithPrevious:
            var prevMatch = false
            for (s, e, m) in segs {
                if m && !prevMatch, !kept.isEmpty { kept[kept.count - 1].1 = e } else { kept.append((s, e)) }
                prevMatch = m
            }
        case .mergedWithNext:
            var prevMatch = false
            for (s, e, m) in segs.reversed() {
                if m && !prevMatch, !kept.isEmpty { kept[kept.count - 1].0 = s } else { kept.append((s, e)) }
                prevMatch = m
            }
            kept.reverse()
        case .contiguous:
            var prevMatch = false
            for (s, e, m) in segs {
                if m == prevMatch, !kept.isEmpty { kept[kept.count - 1].1 = e } else { kept.append((s, e)) }
                prevMatch = m
            }
        }
        for (s, e) in kept where e > s { out.append(s); out.append(e) }
    }
}

enum PrependScheme: String { case always, first, never }

indirect enum PreTokenizer {
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    case split(SplitScanner, SplitBehavior, invert: Bool)
    case digits(individual: Bool)
    case metaspace(replacement: String, prepend: PrependScheme, split: Bool)
    case whitespace
    case whitespaceSplit
    case punctuation(SplitBehavior)
    case sequence([PreTokenizer])

    static func parse(_ j: JSONValue) throws -> PreTokenizer {
        guard let type = j["type"]?.string else { throw TokenizerError.invalidConfig("pre_tokenizer without type") }
        switch type {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: j["add_prefix_space"]?.bool ?? true, useRegex: j["use_regex"]?.bool ?? true)
        case "Split":
            let scanner: SplitScanner
            if let re = j["pattern"]?["Regex"]?.string {
                scanner = try SplitScanner.forRegex(re)
            } else if let lit = j["pattern"]?["String"]?.string {
                scanner = .literal(Array(lit.utf8))
            } else {
                throw TokenizerError.invalidConfig("Split pre-tokenizer without pattern")
            }
            return .split(scanner, try SplitBehavior.parse(j["behavior"], default: .isolated), invert: j["invert"]?.bool ?? false)
        case "Digits": return .digits(individual: j["individual_digits"]?.bool ?? false)
        case "Metaspace":
            let rep = j["replacement"]?.string ?? "\u{2581}"
            guard rep.unicodeScalars.count == 1 else { throw TokenizerError.invalidConfig("Metaspace replacement must be one character") }
            var scheme = PrependScheme.always
            if let s = j["prepend_scheme"]?.string {
                guard let p = PrependScheme(rawValue: s) else { throw TokenizerError.invalidConfig("Metaspace prepend_scheme \(s)") }
                scheme = p
            } else if let add = j["add_prefix_space"]?.bool {
                scheme = add ? .always : .never
            }
            return .metaspace(replacement: rep, prepend: scheme, split: j["split"]?.bool ?? true)
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "Punctuation": return .punctuation(try SplitBehavior.parse(j["behavior"], default: .isolated))
        case "Sequence":
            guard let list = j["pretokenizers"]?.array else { throw TokenizerError.invalidConfig("Sequence without pretokenizers") }
            return .sequence(try list.map(parse))
        default:
            throw TokenizerError.unsupported(component: "pre-tokenizer", type: type)
        }
    }

    /// Applies this pre-tokenizer to every text piece.
    func apply(_ p: inout Pieces) {
        switch self {
        case .sequence(let list):
            for t in list { t.apply(&p) }
        case .byteLevel(let addPrefixSpace, let useRegex):
            var out = Pieces()
            out.buf.reserveCapacity(p.buf.count + p.buf.count / 4 + 16)
            out.list.reserveCapacity(useRegex ? p.buf.count / 3 : p.list.count)
            var scratch: [UInt8] = []
            var ranges: [Int] = []
            p.buf.withUnsafeBufferPointer { src in
                for piece in p.list {
                    if piece.id >= 0 { out.list.append(Piece(start: 0, end: 0, id: piece.id, atStart: piece.atStart)); continue }
                    scratch.removeAll(keepingCapacity: true)
                    if addPrefixSpace && (piece.end == piece.start || src[piece.start] != 0x20) { scratch.append(0x20) }
                    scratch.append(contentsOf: UnsafeBufferPointer(rebasing: src[piece.start..<piece.end]))
                    scratch.withUnsafeBufferPointer { s in
                        ranges.removeAll(keepingCapacity: true)
                        if useRegex { SplitScanner.gpt2.matches(s, into: &ranges) } else if s.count > 0 { ranges = [0, s.count] }
                        var k = 0
                        while k < ranges.count {
                            let start = out.buf.count
                            ByteLevelAlphabet.map(UnsafeBufferPointer(rebasing: s[ranges[k]..<ranges[k + 1]]), into: &out.buf)
                            out.list.append(Piece(start: start, end: out.buf.count, id: -1, atStart: piece.atStart && k == 0))
                            k += 2
                        }
                    }
                }
            }
            p = out
        case .split(let scanner, let behavior, let invert):
            splitPieces(&p) { b, out in
                var m: [Int] = []
                scanner.matches(b, into: &m)
                behavior.apply(matches: m, length: b.count, invert: invert, into: &out)
            }
        case .digits(let individual):
            splitPieces(&p) { b, out in
                let m = charMatches(b) { $0.contains(.number) }
                (individual ? SplitBehavior.isolated : .contiguous).apply(matches: m, length: b.count, invert: false, into: &out)
            }
        case .punctuation(let behavior):
            splitPieces(&p) { b, out in
                let m = charMatches(b) { $0.contains(.punctuation) }
                behavior.apply(matches: m, length: b.count, invert: false, into: &out)
            }
        case .whitespaceSplit:
            splitPieces(&p) { b, out in
                let m = charMatches(b) { $0.contains(.space) }
                SplitBehavior.removed.apply(matches: m, length: b.count, invert: false, into: &out)
            }
        case .whitespace:
            splitPieces(&p) { b, out in SplitScanner.wordOrPunct.matches(b, into: &out) }
        case .metaspace(let replacement, let prepend, let split):
            let rep = Array(replacement.utf8)
            var out = Pieces()
            for piece in p.list {
                if piece.id >= 0 { out.list.append(piece); continue }
                // Spaces become the replacement first, then the prefix is added if missing.
                var text: [UInt8] = []
                let src = p.buf[piece.start..<piece.end]
                for c in src { if c == 0x20 { text.append(contentsOf: rep) } else { text.append(c) } }
                if !text.isEmpty && !text.starts(with: rep) && (prepend == .always || (prepend == .first && piece.atStart)) {
                    text.insert(contentsOf: rep, at: 0)
                }
                var ranges: [Int] = []
                if split {
                    text.withUnsafeBufferPointer { b in
                        var m: [Int] = []
                        SplitScanner.literal(rep).matches(b, into: &m)
                        SplitBehavior.mergedWithNext.apply(matches: m, length: b.count, invert: false, into: &ranges)
                    }
                } else if !text.isEmpty {
                    ranges = [0, text.count]
                }
                let base = out.buf.count
                out.buf.append(contentsOf: text)
                var k = 0
                while k < ranges.count {
                    out.list.append(Piece(start: base + ranges[k], end: base + ranges[k + 1], id: -1, atStart: piece.atStart && k == 0))
                    k += 2
                }
            }
            p = out
        }
    }
}

/// Replaces each text piece by the sub-ranges `cut` returns (offsets relative to the piece).
private func splitPieces(_ p: inout Pieces, _ cut: (UnsafeBufferPointer<UInt8>, inout [Int]) -> Void) {
    var list: [Piece] = []
    list.reserveCapacity(p.list.count * 2)
    var ranges: [Int] = []
    p.buf.withUnsafeBufferPointer { src in
        for piece in p.list {
            if piece.id >= 0 { list.append(piece); continue }
            ranges.removeAll(keepingCapacity: true)
            cut(UnsafeBufferPointer(rebasing: src[piece.start..<piece.end]), &ranges)
            var k = 0
            while k < ranges.count {
                list.append(Piece(start: piece.start + ranges[k], end: piece.start + ranges[k + 1], id: -1, atStart: piece.atStart && k == 0 && ranges[k] == 0))
                k += 2
            }
        }
    }
    p.list = list
}

/// One match per scalar that satisfies `test` (HF's char-predicate patterns).
private func charMatches(_ b: UnsafeBufferPointer<UInt8>, _ test: (ScalarClass) -> Bool) -> [Int] {
    var m: [Int] = []
    var i = 0
    while i < b.count {
        let (c, len) = classAt(b, i)
        if test(c) { m.append(i); m.append(i + len) }
        i += len
    }
    return m
}
