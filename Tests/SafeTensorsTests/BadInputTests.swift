// BadInputTests: every malformed file the reader must reject, each built in a temp dir
// from a literal header or by damaging a good fixture, with the error case and the file
// and tensor named in the message; then truncations and byte flips must never crash.
// Leaves out: sharded-index errors (ShardedTests).
import Foundation
import Testing
import SafeTensors

@Suite struct BadInputTests {
    /// Opens `bytes` written to a temp file; returns the path and the error it raised.
    private func open(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) -> (String, SafeTensorsError?) {
        let dir = TempDir()
        defer { dir.cleanup() }
        let p = dir.write("bad.safetensors", bytes)
        return (p, expectError({ _ = try SafeTensorsFile(path: p) }, sourceLocation: sourceLocation))
    }

    /// The message names the file and (when given) the tensor.
    private func expectNames(_ e: SafeTensorsError?, _ path: String, tensor: String? = nil, _ fragment: String? = nil,
                             sourceLocation: SourceLocation = #_sourceLocation) {
        let text = e.map(String.init(describing:)) ?? ""
        #expect(text.contains(path), "message lacks the path: \(text)", sourceLocation: sourceLocation)
        if let tensor { #expect(text.contains("'\(tensor)'"), "message lacks the tensor: \(text)", sourceLocation: sourceLocation) }
        if let fragment { #expect(text.contains(fragment), "message lacks '\(fragment)': \(text)", sourceLocation: sourceLocation) }
    }

    private let f32 = #"{"dtype":"F32","shape":[1],"data_offsets":"#

    @Test func shorterThanEightBytes() {
        for n in [0, 1, 7] {
            let (p, e) = open(Array(repeating: 0, count: n))
            #expect(e == .truncated(path: p, fileSize: n))
        }
    }

    @Test func headerLengthAbsurdOrPastTheEnd() {
        let (p1, e1) = open(rawFile(header: "{}", length: 100_000_001))
        #expect(e1 == .headerTooLarge(path: p1, headerLength: 100_000_001, limit: 100_000_000))
        let (p2, e2) = open(rawFile(header: "{}", length: .max))
        #expect(e2 == .headerTooLarge(path: p2, headerLength: .max, limit: 100_000_000))
        let (p3, e3) = open(rawFile(header: "{}", length: 3))
        #expect(e3 == .headerLengthExceedsFile(path: p3, headerLength: 3, fileSize: 10))
        expectNames(e3, p3, tensor: nil, "exceeds the file size")
    }

    @Test(arguments: ["{not json", "", "{\"a\":", "[]", "42", "\"s\""])
    func headerNotAJSONObject(_ header: String) {
        let (p, e) = open(rawFile(header: header))
        guard case .invalidHeader(p, _)? = e else { Issue.record("got \(String(describing: e))"); return }
        expectNames(e, p)
    }

    @Test func headerNotUTF8() {
        var bytes = rawFile(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}"#)
        bytes[10] = 0xFF  // the name "a" becomes a lone 0xFF, which is not UTF-8
        let (p, e) = open(bytes)
        guard case .invalidHeader(p, _)? = e else { Issue.record("got \(String(describing: e))"); return }
    }

    @Test func metadataMustBeStrings() {
        let (p, e) = open(rawFile(header: #"{"__metadata__":{"x":1}}"#))
        #expect(e == .invalidHeader(path: p, detail: "__metadata__['x'] must be a string, found a number"))
        let (p2, e2) = open(rawFile(header: #"{"__metadata__":[]}"#))
        guard case .invalidHeader(p2, _)? = e2 else { Issue.record("got \(String(describing: e2))"); return }
    }

    @Test(arguments: [
        (#"{"t":{"shape":[1],"data_offsets":[0,4]}}"#, "missing 'dtype'"),
        (#"{"t":{"dtype":"F32","data_offsets":[0,4]}}"#, "missing 'shape'"),
        (#"{"t":{"dtype":"F32","shape":[1]}}"#, "missing 'data_offsets'"),
        (#"{"t":{"dtype":7,"shape":[1],"data_offsets":[0,4]}}"#, "'dtype' must be a string"),
        (#"{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, "'shape' must be an array of non-negative integers"),
        (#"{"t":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#, "'shape' must be an array of non-negative integers"),
        (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}"#, "'data_offsets' must be two"),
        (#"{"t":{"dtype":"F32","shape":[1],"data_offsets":[-4,4]}}"#, "'data_offsets' must be two"),
        (#"{"t":[1,2]}"#, "expected an object"),
        (#"{"t":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}"#, "overflows"),
    ])
    func entryFieldsMissingOrMistyped(_ header: String, _ fragment: String) {
        let (p, e) = open(rawFile(header: header, data: [0, 0, 0, 0]))
        guard case .invalidEntry(p, "t", _)? = e else { Issue.record("got \(String(describing: e))"); return }
        expectNames(e, p, tensor: "t", fragment)
    }

    @Test func unknownDType() {
        let (p, e) = open(rawFile(header: #"{"t":{"dtype":"Q8","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
        #expect(e == .unknownDType(path: p, tensor: "t", dtype: "Q8"))
        expectNames(e, p, tensor: "t", "expected one of BOOL")
    }

    @Test func offsetsOutOfRange() {
        let (p, e) = open(rawFile(header: #"{"t":\#(f32)[0,4]}}"#, data: [0, 0]))
        guard case .invalidOffsets(p, "t", _)? = e else { Issue.record("got \(String(describing: e))"); return }
        expectNames(e, p, tensor: "t", "past the data region of 2 bytes")
    }

    @Test func beginAfterEnd() {
        let (p, e) = open(rawFile(header: #"{"t":\#(f32)[4,0]}}"#, data: [0, 0, 0, 0]))
        #expect(e == .invalidOffsets(path: p, tensor: "t", detail: "begin 4 > end 0"))
    }

    @Test func overlappingRanges() {
        let (p, e) = open(rawFile(header: #"{"a":\#(f32)[0,4]},"b":\#(f32)[2,6]}}"#, data: Array(repeating: 0, count: 6)))
        guard case .invalidOffsets(p, "b", _)? = e else { Issue.record("got \(String(describing: e))"); return }
        expectNames(e, p, tensor: "b", "overlaps tensor 'a'")
    }

    @Test func sharedRangeIsAnOverlapToo() {
        let (p, e) = open(rawFile(header: #"{"a":\#(f32)[0,4]},"b":\#(f32)[0,4]}}"#, data: [0, 0, 0, 0]))
        guard case .invalidOffsets(p, _, let d)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(d.contains("overlaps"))
    }

    @Test func gapBetweenTensors() {
        let (p, e) = open(rawFile(header: #"{"a":\#(f32)[0,4]},"b":\#(f32)[8,12]}}"#, data: Array(repeating: 0, count: 12)))
        guard case .invalidOffsets(p, "b", _)? = e else { Issue.record("got \(String(describing: e))"); return }
        expectNames(e, p, tensor: "b", "leaves bytes [4, 8)")
    }

    @Test func gapAtTheStart() {
        let (p, e) = open(rawFile(header: #"{"a":\#(f32)[4,8]}}"#, data: Array(repeating: 0, count: 8)))
        guard case .invalidOffsets(p, "a", _)? = e else { Issue.record("got \(String(describing: e))"); return }
    }

    @Test func trailingBytesAfterLastTensor() {
        let (p, e) = open(rawFile(header: #"{"a":\#(f32)[0,4]}}"#, data: Array(repeating: 0, count: 9)))
        #expect(e == .incompleteBuffer(path: p, coveredBytes: 4, dataBytes: 9))
    }

    @Test func byteCountDisagreesWithShapeAndDType() {
        let (p, e) = open(rawFile(header: #"{"t":{"dtype":"F16","shape":[2,2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]))
        #expect(e == .byteCountMismatch(path: p, tensor: "t", dtype: "F16", shape: [2, 2], expectedBytes: 8, actualBytes: 4))
        expectNames(e, p, tensor: "t", "needs 8 bytes")
    }

    @Test func truncatedDownloadNamesTheFirstTensorCut() {
        let good = Fixtures.bytes("f32.safetensors")
        let n = Int(good[0]) | Int(good[1]) << 8
        // Data region is 560 bytes; cut it to 280: "model.layers.0.big" [24, 536) and
        // "w" [536, 560) now end past it; names are checked in byte order.
        let (p, e) = open(Array(good.prefix(8 + n + 280)))
        guard case .invalidOffsets(p, "model.layers.0.big", _)? = e else { Issue.record("got \(String(describing: e))"); return }
    }

    @Test func notAFile() {
        let dir = TempDir()
        defer { dir.cleanup() }
        for p in [dir.url.path, dir.path("missing.safetensors")] {
            let e = expectError { _ = try SafeTensorsFile(path: p) }
            guard case .io(p, _)? = e else { Issue.record("got \(String(describing: e))"); return }
        }
    }

    /// Every prefix of a good file, and 400 seeded single-byte corruptions of its header
    /// and data, either open (and then every tensor reads) or throw: never a crash.
    @Test func truncationsAndByteFlipsNeverCrash() throws {
        let good = Fixtures.bytes("mixed.safetensors")
        let dir = TempDir()
        defer { dir.cleanup() }
        var variants: [[UInt8]] = (0..<good.count).map { Array(good.prefix($0)) }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<400 {
            var b = good
            b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
            variants.append(b)
        }
        var opened = 0
        for (i, bytes) in variants.enumerated() {
            let p = dir.write("v\(i).safetensors", bytes)
            do {
                let f = try SafeTensorsFile(path: p)
                opened += 1
                for e in f.entries {
                    if e.dtype.isConvertibleToFloat { _ = try f.tensor(named: e.name) }
                    else if e.dtype.isInteger { _ = try f.integers(named: e.name) }
                }
            } catch {
                _ = String(describing: error)  // every failure is a SafeTensorsError with a message
            }
        }
        // The full file and data-only flips still open; truncations never do.
        #expect(opened >= 1 && opened < variants.count)
    }
}
