// Character classes used by the hand-written pre-tokenizer scanners: \p{L}, \p{N}, \s,
// \w and "numeric", over UTF-8, with an ASCII table as the fast path. Leaves out anything a
// scanner does not ask for; the Unicode data is the Swift runtime's (a version close to
// the Oniguruma tables HF uses, so brand-new code points may classify differently).

struct ScalarClass: OptionSet {
    let rawValue: UInt8
    static let letter = ScalarClass(rawValue: 1)       // \p{L}
    static let number = ScalarClass(rawValue: 2)       // \p{N}
    static let space = ScalarClass(rawValue: 4)        // \s (White_Space)
    static let newline = ScalarClass(rawValue: 8)      // \r or \n
    static let word = ScalarClass(rawValue: 16)        // \w
    static let punctuation = ScalarClass(rawValue: 32) // HF `is_punc`
    static let decimal = ScalarClass(rawValue: 64)     // Nd

    static let ascii: [ScalarClass] = (0..<128).map { classify(Unicode.Scalar(UInt8($0))) }

    static func classify(_ s: Unicode.Scalar) -> ScalarClass {
        var c: ScalarClass = []
        let p = s.properties
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            c.insert(.letter)
        case .decimalNumber: c.insert(.number); c.insert(.decimal)
        case .letterNumber, .otherNumber: c.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            c.insert(.punctuation)
        default: break
        }
        if s.value < 128, (0x21...0x2F).contains(s.value) || (0x3A...0x40).contains(s.value)
            || (0x5B...0x60).contains(s.value) || (0x7B...0x7E).contains(s.value) {
            c.insert(.punctuation)
        }
        if p.isWhitespace { c.insert(.space) }
        if s == "\r" || s == "\n" { c.insert(.newline) }
        switch p.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation:
            c.insert(.word)
        default:
            if p.isAlphabetic || p.isJoinControl { c.insert(.word) }
        }
        return c
    }
}

/// Decodes the scalar starting at `i` of valid UTF-8; returns it and its byte length.
@inline(__always)
func decodeScalar(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (UInt32, Int) {
    let c0 = UInt32(b[i])
    if c0 < 0x80 { return (c0, 1) }
    if c0 < 0xE0 { return ((c0 & 0x1F) << 6 | UInt32(b[i + 1] & 0x3F), 2) }
    if c0 < 0xF0 {
        return ((c0 & 0x0F) << 12 | UInt32(b[i + 1] & 0x3F) << 6 | UInt32(b[i + 2] & 0x3F), 3)
    }
    return ((c0 & 0x07) << 18 | UInt32(b[i + 1] & 0x3F) << 12 | UInt32(b[i + 2] & 0x3F) << 6
        | UInt32(b[i + 3] & 0x3F), 4)
}

/// Class and byte length of the scalar at `i`.
@inline(__always)
func classAt(_ b: UnsafeBufferPointer<UInt8>, _ i: Int) -> (ScalarClass, Int) {
    let c0 = b[i]
    if c0 < 0x80 { return (ScalarClass.ascii[Int(c0)], 1) }
    let (v, n) = decodeScalar(b, i)
    return (ScalarClass.classify(Unicode.Scalar(v) ?? "\u{FFFD}"), n)
}
