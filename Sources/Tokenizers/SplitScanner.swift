// Hand-written matchers for the regex split patterns real tokenizers ship (GPT-2, Llama 3,
// Qwen2, the Whitespace pre-tokenizer), ~20x faster than Swift `Regex` (PERF-NOTES), plus
// `Regex` itself for any other pattern. Each scanner reproduces the leftmost-alternative,
// backtracking semantics of Oniguruma on these patterns; `Regex` stays their test oracle.
// Leaves out: Oniguruma-only syntax that Swift `Regex` cannot compile (a clear error).

/// A pattern that yields non-overlapping matches as UTF-8 byte ranges.
enum SplitScanner: @unchecked Sendable {
    /// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
    case gpt2
    /// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}
    /// | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+   (Llama 3: 3 digits, Qwen2: 1)
    case llama3(maxDigits: Int)
    /// \w+|[^\w\s]+
    case wordOrPunct
    /// A literal string (Split with `{"String": ...}`).
    case literal([UInt8])
    /// Any other regex, run by Swift `Regex` with Unicode-scalar semantics (slow path).
    case regex(Regex<AnyRegexOutput>)

    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let llama3Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let qwen2Pattern = #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let wordOrPunctPattern = #"\w+|[^\w\s]+"#

    /// Picks the scanner for a regex pattern; throws if Swift `Regex` cannot compile it.
    static func forRegex(_ pattern: String) throws -> SplitScanner {
        switch pattern {
        case gpt2Pattern: return .gpt2
        case llama3Pattern: return .llama3(maxDigits: 3)
        case qwen2Pattern: return .llama3(maxDigits: 1)
        case wordOrPunctPattern: return .wordOrPunct
        default:
            do {
                return .regex(try Regex(pattern).matchingSemantics(.unicodeScalar))
            } catch {
                throw TokenizerError.unsupported(component: "Split pre-tokenizer regex", type: pattern)
            }
        }
    }

    /// Appends the (start, end) byte offsets of every non-empty match in `b` to `out`.
    func matches(_ b: UnsafeBufferPointer<UInt8>, into out: inout [Int]) {
        switch self {
        case .gpt2: SplitScanner.scanGPT2(b, &out)
        case .llama3(let d): SplitScanner.scanLlama3(b, maxDigits: d, &out)
        case .wordOrPunct: SplitScanner.scanWordOrPunct(b, &out)
        case .literal(let lit):
            guard !lit.isEmpty, b.count >= lit.count else { return }
            var i = 0
            while i + lit.count <= b.count {
                var ok = true
                for k in 0..<lit.count where b[i + k] != lit[k] { ok = false; break }
                if ok { out.append(i); out.append(i + lit.count); i += lit.count } else { i += 1 }
            }
        case .regex(let re):
            let s = String(decoding: b, as: UTF8.self)
            let utf8 = s.utf8
            for m in s.matches(of: re) where !m.range.isEmpty {
                out.append(utf8.distance(from: utf8.startIndex, to: m.range.lowerBound))
                out.append(utf8.distance(from: utf8.startIndex, to: m.range.upperBound))
            }
        }
    }

    /// Contraction after an apostrophe at `i`: returns its byte length (0 if none).
    @inline(__always)
    static func contraction(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, caseless: Bool) -> Int {
        let n = b.count
        guard i + 1 < n else { return 0 }
        @inline(__always) func at(_ k: Int) -> UInt8 {
            guard k < n else { return 0 }
            let c = b[k]
            return caseless && c >= 0x41 && c <= 0x5A ? c | 0x20 : c
        }
        let c1 = at(i + 1)
        switch c1 {
        case UInt8(ascii: "s"), UInt8(ascii: "t"), UInt8(ascii: "m"), UInt8(ascii: "d"): return 2
        case UInt8(ascii: "r"), UInt8(ascii: "v"): return at(i + 2) == UInt8(ascii: "e") ? 3 : 0
        case UInt8(ascii: "l"): return at(i + 2) == UInt8(ascii: "l") ? 3 : 0
        default:
            // (?i) case folding also maps U+017F LATIN SMALL LETTER LONG S to 's'.
            if caseless, c1 == 0xC5, i + 2 < n, b[i + 2] == 0xBF { return 3 }
            return 0
        }
    }

    /// End of the run of scalars starting at `i` whose class intersects `cls`; also returns
    /// the start of the run's last scalar.
    @inline(__always)
    static func run(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ test: (ScalarClass) -> Bool) -> (end: Int, lastStart: Int) {
        var j = i, last = i
        while j < b.count {
            let (c, len) = classAt(b, j)
            if !test(c) { break }
            last = j
            j += len
        }
        return (j, last)
    }

    @inline(__always)
    static func isOther(_ c: ScalarClass) -> Bool { c.rawValue & 7 == 0 }

    /// GPT-2's three ` ?X+` classes in pattern order: letter, number, other.
    @inline(__always)
    static func gptClass(_ k: Int, _ c: ScalarClass) -> Bool {
        k == 0 ? c.contains(.letter) : k == 1 ? c.contains(.number) : isOther(c)
    }

    static func scanGPT2(_ b: UnsafeBufferPointer<UInt8>, _ out: inout [Int]) {
        let n = b.count
        var i = 0
        while i < n {
            let start = i
            let (c, len) = classAt(b, i)
            if b[i] == UInt8(ascii: "'") {
                let k = contraction(b, i, caseless: false)
                if k > 0 { out.append(start); out.append(i + k); i += k; continue }
            }
            // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`, tried in that order; the
            // optional space joins only when the class follows it.
            let spaceFirst = b[i] == 0x20 && i + 1 < n
            let next: ScalarClass = spaceFirst ? classAt(b, i + 1).0 : .space
            var matched = false
            for k in 0..<3 {
                let p = gptClass(k, next) ? i + 1 : i
                if p == i + 1 || gptClass(k, c) {
                    let e = run(b, p, { gptClass(k, $0) }).end
                    out.append(start); out.append(e); i = e
                    matched = true
                    break
                }
            }
            if matched { continue }
            if c.contains(.space) {
                let (e, last) = run(b, i, { $0.contains(.space) })
                // \s+(?!\S): all of it at the end of text, else all but the last scalar.
                let stop = (e == n || last == i) ? e : last
                out.append(start); out.append(stop); i = stop; continue
            }
            // Unreachable for valid input (every scalar is L, N, \s or other); stay total.
            out.append(start); out.append(i + len); i += len
        }
    }

    static func scanLlama3(_ b: UnsafeBufferPointer<UInt8>, maxDigits: Int, _ out: inout [Int]) {
        let n = b.count
        var i = 0
        while i < n {
            let start = i
            let (c, len) = classAt(b, i)
            // 1. (?i:'s|'t|'re|'ve|'m|'ll|'d)
            if b[i] == UInt8(ascii: "'") {
                let k = contraction(b, i, caseless: true)
                if k > 0 { out.append(start); out.append(i + k); i += k; continue }
            }
            // 2. [^\r\n\p{L}\p{N}]?\p{L}+
            if c.contains(.letter) {
                let e = run(b, i, { $0.contains(.letter) }).end
                out.append(start); out.append(e); i = e; continue
            }
            if !c.contains(.newline) && !c.contains(.number), i + len < n, classAt(b, i + len).0.contains(.letter) {
                let e = run(b, i + len, { $0.contains(.letter) }).end
                out.append(start); out.append(e); i = e; continue
            }
            // 3. \p{N}{1,maxDigits}
            if c.contains(.number) {
                var j = i, k = 0
                while j < n, k < maxDigits {
                    let (cj, lj) = classAt(b, j)
                    if !cj.contains(.number) { break }
                    j += lj; k += 1
                }
                out.append(start); out.append(j); i = j; continue
            }
            // 4. ' ?[^\s\p{L}\p{N}]+[\r\n]*'
            var j = i
            if b[i] == 0x20, i + 1 < n, isOther(classAt(b, i + 1).0) { j = i + 1 }
            if isOther(classAt(b, j).0) {
                var e = run(b, j, isOther).end
                while e < n, b[e] == 0x0A || b[e] == 0x0D { e += 1 }
                out.append(start); out.append(e); i = e; continue
            }
            if c.contains(.space) {
                let (e, last) = run(b, i, { $0.contains(.space) })
                // 5. \s*[\r\n]+ : through the last newline of the whitespace run.
                var lastNL = -1
                var k = i
                while k < e {
                    if b[k] == 0x0A || b[k] == 0x0D { lastNL = k }
                    k += classAt(b, k).1
                }
                if lastNL >= 0 { out.append(start); out.append(lastNL + 1); i = lastNL + 1; continue }
                // 6./7. \s+(?!\S) then \s+
                let stop = (e == n || last == i) ? e : last
                out.append(start); out.append(stop); i = stop; continue
            }
            out.append(start); out.append(i + len); i += len
        }
    }

    static func scanWordOrPunct(_ b: UnsafeBufferPointer<UInt8>, _ out: inout [Int]) {
        let n = b.count
        var i = 0
        while i < n {
            let (c, len) = classAt(b, i)
            if c.contains(.word) {
                let e = run(b, i, { $0.contains(.word) }).end
                out.append(i); out.append(e); i = e
            } else if !c.contains(.space) {
                let e = run(b, i, { !$0.contains(.word) && !$0.contains(.space) }).end
                out.append(i); out.append(e); i = e
            } else {
                i += len
            }
        }
    }
}
