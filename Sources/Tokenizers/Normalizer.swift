// Normalizers: rewrite each text piece before pre-tokenization (NFC, NFD, NFKC, NFKD,
// Lowercase, Prepend, Replace, Strip, Sequence), as Hugging Face tokenizers does. Leaves
// out alignment tracking (offsets) and BertNormalizer, Precompiled, NMT, StripAccents:
// those load as a clear `unsupported` error.
import Foundation

indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case prepend(String)
    case replace(pattern: SplitScanner, content: String)
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    static func parse(_ j: JSONValue) throws -> Normalizer {
        guard let type = j["type"]?.string else { throw TokenizerError.invalidConfig("normalizer without type") }
        switch type {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "Prepend":
            guard let s = j["prepend"]?.string else { throw TokenizerError.invalidConfig("Prepend without prepend") }
            return .prepend(s)
        case "Replace":
            guard let content = j["content"]?.string else { throw TokenizerError.invalidConfig("Replace without content") }
            if let s = j["pattern"]?["String"]?.string { return .replace(pattern: .literal(Array(s.utf8)), content: content) }
            if let r = j["pattern"]?["Regex"]?.string { return .replace(pattern: try SplitScanner.forRegex(r), content: content) }
            throw TokenizerError.invalidConfig("Replace without pattern")
        case "Strip":
            return .strip(left: j["strip_left"]?.bool ?? true, right: j["strip_right"]?.bool ?? true)
        case "Sequence":
            guard let list = j["normalizers"]?.array else { throw TokenizerError.invalidConfig("Sequence without normalizers") }
            return .sequence(try list.map(parse))
        default:
            throw TokenizerError.unsupported(component: "normalizer", type: type)
        }
    }

    func normalize(_ s: String) -> String {
        switch self {
        case .nfc: return s.utf8.allSatisfy { $0 < 0x80 } ? s : s.precomposedStringWithCanonicalMapping
        case .nfd: return s.utf8.allSatisfy { $0 < 0x80 } ? s : s.decomposedStringWithCanonicalMapping
        case .nfkc: return s.utf8.allSatisfy { $0 < 0x80 } ? s : s.precomposedStringWithCompatibilityMapping
        case .nfkd: return s.utf8.allSatisfy { $0 < 0x80 } ? s : s.decomposedStringWithCompatibilityMapping
        case .lowercase:
            // HF maps char by char (Rust `char::to_lowercase`): full mappings, but no
            // contextual final sigma (the fixtures show ΟΔΟΣ -> οδοσ).
            if s.utf8.allSatisfy({ $0 < 0x80 }) { return s.lowercased() }
            var out = String.UnicodeScalarView()
            for u in s.unicodeScalars { out.append(contentsOf: u.properties.lowercaseMapping.unicodeScalars) }
            return String(out)
        case .prepend(let p): return s.isEmpty ? s : p + s
        case .replace(let pattern, let content):
            var bytes = Array(s.utf8)
            var m: [Int] = []
            bytes.withUnsafeBufferPointer { pattern.matches($0, into: &m) }
            if m.isEmpty { return s }
            var out: [UInt8] = []
            var pos = 0, k = 0
            let c = Array(content.utf8)
            while k < m.count {
                out.append(contentsOf: bytes[pos..<m[k]]); out.append(contentsOf: c)
                pos = m[k + 1]; k += 2
            }
            out.append(contentsOf: bytes[pos...])
            bytes = out
            return String(decoding: bytes, as: UTF8.self)
        case .strip(let left, let right):
            var scalars = Substring(s).unicodeScalars
            if left { while let f = scalars.first, f.properties.isWhitespace { scalars.removeFirst() } }
            if right { while let l = scalars.last, l.properties.isWhitespace { scalars.removeLast() } }
            return String(scalars)
        case .sequence(let list):
            var t = s
            for n in list { t = n.normalize(t) }
            return t
        }
    }
}
