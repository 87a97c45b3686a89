// Tests of the TensorBoard path: CRC-32C against published vectors (RFC 3720 B.4), TFRecord
// framing byte by byte, the Event protobuf against hand-encoded bytes, and a written event
// file read back with both CRCs checked.
import Foundation
import Testing
import RunKit

@Test func crc32cKnownVectors() {
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    #expect(CRC32C.checksum([UInt8]()) == 0)
    #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
    #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    // Running checksum over two halves equals the one-shot value.
    let bytes = Array("123456789".utf8)
    #expect(CRC32C.checksum(bytes[4...], crc: CRC32C.checksum(bytes[..<4])) == 0xE306_9283)
}

@Test func maskedCRCRoundTrips() {
    #expect(CRC32C.masked(0) == 0xA282_EAD8)   // rotate(0) + delta
    for v: UInt32 in [0, 1, 0xE306_9283, .max] { #expect(CRC32C.unmasked(CRC32C.masked(v)) == v) }
}

@Test func tfrecordFramingLayout() throws {
    let payload: [UInt8] = Array("123456789".utf8)
    let f = TFRecord.frame(payload)
    #expect(f.count == 8 + 4 + 9 + 4)
    #expect(Array(f[0..<8]) == [9, 0, 0, 0, 0, 0, 0, 0])                 // uint64 LE length
    let lenCRC = CRC32C.masked(CRC32C.checksum([9, 0, 0, 0, 0, 0, 0, 0] as [UInt8]))
    #expect(Array(f[8..<12]) == (0..<4).map { UInt8(truncatingIfNeeded: lenCRC >> ($0 * 8)) })
    #expect(Array(f[12..<21]) == payload)
    let dataCRC = CRC32C.masked(0xE306_9283)
    #expect(Array(f[21..<25]) == (0..<4).map { UInt8(truncatingIfNeeded: dataCRC >> ($0 * 8)) })
    // Empty payload: data CRC is masked(0) = 0xA282EAD8, little-endian.
    #expect(Array(TFRecord.frame([]).suffix(4)) == [0xD8, 0xEA, 0x82, 0xA2])
    #expect(try TFRecord.records(f + TFRecord.frame([])) == [payload, []])
}

@Test func tfrecordReaderRejectsCorruption() {
    var f = TFRecord.frame(Array("hello".utf8))
    f[13] ^= 1
    #expect(throws: TFRecord.ReadError.dataCRCMismatch(offset: 0)) { try TFRecord.records(f) }
    var g = TFRecord.frame(Array("hello".utf8))
    g[0] ^= 1
    #expect(throws: TFRecord.ReadError.lengthCRCMismatch(offset: 0)) { try TFRecord.records(g) }
    #expect(throws: TFRecord.ReadError.truncated(offset: 0)) { try TFRecord.records(Array(TFRecord.frame([1, 2, 3]).dropLast())) }
}

@Test func eventProtobufBytesByHand() throws {
    let e = TensorBoardEvent(wallTime: 1.0, step: 5, scalars: [("a", 1.0)])
    // wall_time: 09 + double 1.0 LE; step: 10 05; summary (field 5, len 10):
    //   value (field 1, len 8): tag 0A 01 'a', simple_value 15 + float 1.0 LE.
    let want: [UInt8] = [0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0x05,
                         0x2A, 0x0A, 0x0A, 0x08, 0x0A, 0x01, 0x61, 0x15, 0x00, 0x00, 0x80, 0x3F]
    #expect(e.encoded() == want)
    #expect(try TensorBoardEvent(decoding: want) == e)
    let v = TensorBoardEvent(wallTime: 2.5, step: 0, fileVersion: "brain.Event:2")
    #expect(Array(v.encoded().suffix(15)) == [0x1A, 13] + Array("brain.Event:2".utf8))
    let big = TensorBoardEvent(wallTime: 0, step: 300, scalars: [])
    #expect(Array(big.encoded()[9...]) == [0x10, 0xAC, 0x02])   // varint 300
}

@Test func writerFileReadsBack() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("runkit-tb-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let t = Date(timeIntervalSince1970: 1_700_000_000)
    let w = try TensorBoardWriter(directory: dir, time: t, host: "testhost")
    #expect(w.url.lastPathComponent == "events.out.tfevents.1700000000.testhost")
    try w.log(MetricsRecord(step: 1, wallTime: 1_700_000_001, ["train/loss": 2.5, "train/lr": 1e-3]))
    try w.log(MetricsRecord(step: 2, wallTime: 1_700_000_002, ["train/loss": 2.25]))
    try w.flush()
    let events = try TensorBoardWriter.readEvents(w.url)
    #expect(events.count == 3)
    #expect(events[0].fileVersion == "brain.Event:2" && events[0].wallTime == 1_700_000_000)
    #expect(events[1] == TensorBoardEvent(wallTime: 1_700_000_001, step: 1, scalars: [("train/loss", 2.5), ("train/lr", 1e-3)]))
    #expect(events[2].step == 2 && events[2].scalars.map(\.value) == [2.25])
    // For Reference/read_tensorboard.py: RUNKIT_TB_DIR=/tmp/tb swift test --filter writerFileReadsBack
    if let keep = ProcessInfo.processInfo.environment["RUNKIT_TB_DIR"] {
        let k = try TensorBoardWriter(directory: URL(fileURLWithPath: keep), time: t, host: "swift-rlhf")
        for step in 1...3 {
            try k.log(MetricsRecord(step: step, wallTime: 1_700_000_000 + Double(step),
                                    ["train/loss": 3.0 / Double(step), "train/lr": 1e-3 * Double(step)]))
        }
        try k.flush()
    }
    // A second writer in the same second gets its own file.
    let w2 = try TensorBoardWriter(directory: dir, time: t, host: "testhost")
    #expect(w2.url.lastPathComponent == "events.out.tfevents.1700000000.testhost.1")
}
