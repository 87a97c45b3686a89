// Decoders: turn token strings back into text (ByteLevel, Metaspace, ByteFallback, Fuse,
// Strip, Replace, BPEDecoder, Sequence), each a `decode_chain` over the token list as in
// Hugging Face tokenizers; invalid UTF-8 becomes U+FFFD exactly where HF puts it.
// Leaves out WordPiece and CTC decoders (a clear `unsupported` error at load).
import Foundation

indirect enum Decoder {
    case byteLevel
    case metaspace(replacement: Unicode.Scalar, prepend: PrependScheme)
    case byteFallback
    case fuse
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(pattern: SplitScanner, content: String)
    case bpe(suffix: String)
    case sequence([Decoder])

    static func parse(_ j: JSONValue) throws -> Decoder {
        guard let type = j["type"]?.string else { throw TokenizerError.invalidConfig("decoder without type") }
        switch type {
        case "ByteLevel": return .byteLevel
        case "Metaspace":
            let rep = j["replacement"]?.string ?? "\u{2581}"
            guard rep.unicodeScalars.count == 1 else { throw TokenizerError.invalidConfig("Metaspace replacement must be one character") }
            var scheme = PrependScheme.always
            if let s = j["prepend_scheme"]?.string, let p = PrependScheme(rawValue: s) { scheme = p }
            else if let add = j["add_prefix_space"]?.bool { scheme = add ? .always : .never }
            return .metaspace(replacement: rep.unicodeScalars.first!, prepend: scheme)
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            guard let c = j["content"]?.string, c.unicodeScalars.count == 1 else { throw TokenizerError.invalidConfig("Strip decoder content") }
            return .strip(content: c.unicodeScalars.first!, start: j["start"]?.int ?? 0, stop: j["stop"]?.int ?? 0)
        case "Replace":
            guard let content = j["content"]?.string else { throw TokenizerError.invalidConfig("Replace decoder without content") }
            if let s = j["pattern"]?["String"]?.string { return .replace(pattern: .literal(Array(s.utf8)), content: content) }
            if let r = j["pattern"]?["Regex"]?.string { return .replace(pattern: try SplitScanner.forRegex(r), content: content) }
            throw TokenizerError.invalidConfig("Replace decoder without pattern")
        case "BPEDecoder": return .bpe(suffix: j["suffix"]?.string ?? "</w>")
        case "Sequence":
            guard let list = j["decoders"]?.array else { throw TokenizerError.invalidConfig("Sequence without decoders") }
            return .sequence(try list.map(parse))
        default:
            throw TokenizerError.unsupported(component: "decoder", type: type)
        }
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                if let b = ByteLevelAlphabet.unmap(t) { bytes += b } else { bytes += Array(t.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case .metaspace(let rep, let prepend):
            return tokens.enumerated().map { i, t in
                var s = String.UnicodeScalarView()
                for c in t.unicodeScalars {
                    if c == rep {
                        if i == 0 && prepend != .never { continue }
                        s.append(" ")
                    } else {
                        s.append(c)
                    }
                }
                return String(s)
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                if pending.isEmpty { return }
                if let s = String(validating: pending, as: UTF8.self) { out.append(s) }
                else { out += Array(repeating: "\u{FFFD}", count: pending.count) }
                pending.removeAll()
            }
            for t in tokens {
                let u = Array(t.utf8)
                if u.count == 6, t.hasPrefix("<0x"), u[5] == UInt8(ascii: ">"),
                   let v = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                    pending.append(v)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case .strip(let content, let start, let stop):
            return tokens.map { t in
                let chars = Array(t.unicodeScalars)
                var lo = 0
                while lo < start && lo < chars.count && chars[lo] == content { lo += 1 }
                var hi = chars.count
                while chars.count - hi < stop && hi > lo && chars[hi - 1] == content { hi -= 1 }
                var s = String.UnicodeScalarView()
                s.append(contentsOf: chars[lo..<hi])
                return String(s)
            }
        case .replace(let pattern, let content):
            let n = Normalizer.replace(pattern: pattern, content: content)
            return tokens.map { n.normalize($0) }
        case .bpe(let suffix):
            return tokens.enumerated().map { i, t in
                t.replacingOccurrences(of: suffix, with: i == tokens.count - 1 ? "" : " ")
            }
        case .sequence(let list):
            var t = tokens
            for d in list { t = d.decodeChain(t) }
            return t
        }
    }
}
