// Helpers the fuzz targets share: a per-process scratch directory for parsers that take a
// path, and splitting one input into several files at a marker line. Leaves out input
// generation: libFuzzer mutates the bytes, the targets only interpret them.
import Foundation

public enum FuzzInput {
    /// Separates the files packed into one input (e.g. an index and its shards). A line of
    /// its own so a seed stays readable; JSON and JSONL never contain it.
    public static let separator = Array("\n--8<--\n".utf8)

    /// A directory private to this process, created once; files in it are overwritten per input.
    /// In /dev/shm when there is one: a disk-backed /tmp costs more than the parse itself.
    public static let scratch: URL = {
        let shm = FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm") : nil
        let url = (shm ?? FileManager.default.temporaryDirectory)
            .appendingPathComponent("swift-rlhf-fuzz-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    /// Writes `bytes` to `name` in the scratch directory and returns its path.
    public static func write<C: Collection>(_ bytes: C, as name: String) -> String where C.Element == UInt8 {
        let url = scratch.appendingPathComponent(name)
        // A failed write would fuzz a stale file: stop loudly instead.
        do { try Data(bytes).write(to: url) } catch { fatalError("fuzz scratch write \(url.path): \(error)") }
        return url.path
    }

    /// `bytes` cut at every `separator`: one part when there is none.
    public static func split(_ bytes: UnsafeRawBufferPointer) -> [ArraySlice<UInt8>] {
        let all = [UInt8](bytes)
        var parts: [ArraySlice<UInt8>] = []
        var start = 0, i = 0
        while i + separator.count <= all.count {
            if all[i] == separator[0] && all[i..<(i + separator.count)].elementsEqual(separator) {
                parts.append(all[start..<i])
                i += separator.count
                start = i
            } else {
                i += 1
            }
        }
        parts.append(all[start...])
        return parts
    }

    /// The input as text, invalid UTF-8 repaired (the text parsers take Swift strings).
    public static func text(_ bytes: UnsafeRawBufferPointer) -> String {
        String(decoding: bytes, as: UTF8.self)
    }
}
