// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum TFRecord framing uses,
// and TensorFlow's "masked" form of it. Table-driven, one byte at a time: event files are
// small. Leaves out the SSE4.2 instruction path.
import Foundation

public enum CRC32C {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    /// crc32c of `bytes`; continue a running checksum by passing the previous value as `crc`.
    public static func checksum<C: Collection>(_ bytes: C, crc: UInt32 = 0) -> UInt32 where C.Element == UInt8 {
        var c = ~crc
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return ~c
    }

    /// TensorFlow's masked CRC: rotate right by 15 and add 0xa282ead8 (so a CRC over data
    /// that itself contains CRCs stays well distributed).
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }

    public static func unmasked(_ masked: UInt32) -> UInt32 {
        let r = masked &- 0xA282_EAD8
        return (r >> 17) | (r << 15)
    }
}
