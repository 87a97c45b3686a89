// GPT-2's byte <-> printable-character table: bytes that are printable Latin-1 keep their
// code point, the other 68 bytes map to U+0100 upwards in order. Used by the ByteLevel
// pre-tokenizer (bytes -> chars) and decoder (chars -> bytes). Nothing else.

enum ByteLevelAlphabet {
    /// Code point for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = UInt32(b)
            } else {
                table[b] = next
                next += 1
            }
        }
        return table
    }()

    /// UTF-8 of each byte's character, packed: length in the low byte, bytes above.
    static let utf8ForByte: [UInt32] = scalarForByte.map { v in
        if v < 0x80 { return 1 | v << 8 }
        return 2 | (0xC0 | v >> 6) << 8 | (0x80 | v & 0x3F) << 16
    }

    /// Byte for each code point below 512 (-1 when the code point is not in the alphabet).
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 512)
        for (b, v) in scalarForByte.enumerated() { table[Int(v)] = Int16(b) }
        return table
    }()

    /// Appends the byte-level spelling of `bytes` to `out`.
    @inline(__always)
    static func map(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) {
        utf8ForByte.withUnsafeBufferPointer { t in
            for b in bytes {
                let e = t[Int(b)]
                out.append(UInt8(truncatingIfNeeded: e >> 8))
                if e & 0xFF == 2 { out.append(UInt8(truncatingIfNeeded: e >> 16)) }
            }
        }
    }

    /// Raw bytes of a byte-level token; nil if some character is outside the alphabet.
    static func unmap(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for s in token.unicodeScalars {
            guard s.value < 512, case let b = byteForScalar[Int(s.value)], b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }
}
