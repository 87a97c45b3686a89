// TFRecord framing, the container of TensorBoard event files: per record
// `uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)`, all
// little-endian. `frame` writes one record; `records` reads a whole file back, checking both
// CRCs. Leaves out compression (GZIP/ZLIB record files).
import Foundation

public enum TFRecord {
    public enum ReadError: Error, CustomStringConvertible, Equatable {
        case truncated(offset: Int)
        case lengthCRCMismatch(offset: Int)
        case dataCRCMismatch(offset: Int)

        public var description: String {
            switch self {
            case .truncated(let o): return "TFRecord truncated at byte \(o)"
            case .lengthCRCMismatch(let o): return "TFRecord length CRC mismatch at byte \(o)"
            case .dataCRCMismatch(let o): return "TFRecord data CRC mismatch at byte \(o)"
            }
        }
    }

    /// One framed record holding `data`.
    public static func frame(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + 16)
        let len = littleEndian(UInt64(data.count))
        out += len
        out += littleEndian(CRC32C.masked(CRC32C.checksum(len)))
        out += data
        out += littleEndian(CRC32C.masked(CRC32C.checksum(data)))
        return out
    }

    /// The payloads of every record in `bytes`, verifying both CRCs of each.
    public static func records(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var out: [[UInt8]] = []
        var i = 0
        while i < bytes.count {
            guard i + 12 <= bytes.count else { throw ReadError.truncated(offset: i) }
            let lenBytes = Array(bytes[i..<i + 8])
            let len = Int(readLE(lenBytes, as: UInt64.self))
            guard readLE(Array(bytes[i + 8..<i + 12]), as: UInt32.self) == CRC32C.masked(CRC32C.checksum(lenBytes)) else {
                throw ReadError.lengthCRCMismatch(offset: i)
            }
            guard len <= bytes.count - i - 16 else { throw ReadError.truncated(offset: i) }
            let data = Array(bytes[i + 12..<i + 12 + len])
            guard readLE(Array(bytes[i + 12 + len..<i + 16 + len]), as: UInt32.self) == CRC32C.masked(CRC32C.checksum(data)) else {
                throw ReadError.dataCRCMismatch(offset: i)
            }
            out.append(data)
            i += 16 + len
        }
        return out
    }

    static func littleEndian<I: FixedWidthInteger>(_ v: I) -> [UInt8] {
        (0..<I.bitWidth / 8).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) }
    }

    static func readLE<I: FixedWidthInteger>(_ b: [UInt8], as: I.Type) -> I {
        var v: I = 0
        for (k, byte) in b.enumerated() { v |= I(byte) << (k * 8) }
        return v
    }
}
