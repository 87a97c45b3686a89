// `PreferenceLog`: the files `rlhf label` writes. Rows are appended to --out (pairs or rated
// groups) or to its `.unpaired.jsonl` side file (ties and skips), each line written whole and
// fsynced before the request is answered; nothing already written is ever rewritten. A
// labeller's latest decision is held in `.pending.json` (replaced atomically) until they move
// on, so "back" can change it without touching --out; a restart appends what was held.
import Foundation
import RunKit
import Tokenizers
#if canImport(Glibc)
import Glibc
#endif

/// Which file a row belongs in.
enum RowTarget: String, Sendable {
    case out
    case unpaired
}

/// A decision turned into its JSON row, waiting for its labeller to move on.
struct HeldRow: Sendable {
    var item: Int
    var target: RowTarget
    var row: JSONValue
    /// Slot texts and the decision, so "back" can show the item again (absent when read from the journal).
    var texts: [String] = []
    var decision: Decision? = nil
}

final class PreferenceLog {
    let outURL: URL
    let unpairedURL: URL
    let pendingURL: URL
    /// Items already written to either file, with the prompt each row records.
    private(set) var recorded: [Int: JSONValue] = [:]
    /// Rows per file, for progress and tests.
    private(set) var rowCounts: [RowTarget: Int] = [.out: 0, .unpaired: 0]
    /// One held decision per labeller.
    private(set) var held: [String: HeldRow] = [:]
    /// What opening the files found worth telling the user (a torn last line dropped, held rows appended).
    private(set) var notes: [String] = []

    init(out: String) throws {
        outURL = URL(fileURLWithPath: out)
        let dir = outURL.deletingLastPathComponent()
        let name = outURL.lastPathComponent
        let stem = name.hasSuffix(".jsonl") ? String(name.dropLast(6)) : name
        unpairedURL = dir.appendingPathComponent(stem + ".unpaired.jsonl")
        pendingURL = dir.appendingPathComponent(stem + ".pending.json")
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw LabelError.file("--out \(out): folder \(dir.path) does not exist")
        }
        for target in [RowTarget.out, .unpaired] { try scan(target) }
        try recoverHeld()
    }

    func url(_ t: RowTarget) -> URL { t == .out ? outURL : unpairedURL }

    /// Reads one file's rows: every line must be an object with an integer "item" (a file not
    /// written by `rlhf label` is refused rather than appended to).
    private func scan(_ target: RowTarget) throws {
        let url = url(target)
        guard FileManager.default.fileExists(atPath: url.path) else { return }
        let name = url.lastPathComponent
        var bytes = [UInt8](try Foundation.Data(contentsOf: url))
        // A line without its newline can only be a write cut short by a crash: that item was
        // never answered as saved, so the partial bytes go and the item is labelled again.
        if let last = bytes.last, last != 0x0A {
            let keep = (bytes.lastIndex(of: 0x0A).map { $0 + 1 }) ?? 0
            guard truncate(url.path, off_t(keep)) == 0 else {
                throw LabelError.file("\(name): cannot drop a torn last line (\(String(cString: strerror(errno))))")
            }
            notes.append("\(name): dropped an incomplete last line (\(bytes.count - keep) bytes) left by a crash")
            bytes.removeSubrange(keep...)
        }
        var line = 0
        for raw in bytes.split(separator: 0x0A, omittingEmptySubsequences: false) {
            line += 1
            if raw.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let v: JSONValue
            do { v = try JSONValue.parse(Foundation.Data(raw)) } catch {
                throw LabelError.file("\(name) line \(line): not valid JSON (\(error))")
            }
            guard let item = v["item"]?.int, item >= 0 else {
                throw LabelError.file("\(name) line \(line): no integer \"item\" field; --out must be a file written by rlhf label")
            }
            if recorded[item] != nil {
                throw LabelError.file("\(name) line \(line): item \(item) is recorded twice")
            }
            recorded[item] = v["prompt"] ?? .null
            rowCounts[target, default: 0] += 1
        }
    }

    /// Decisions held when the last run stopped are final now: append those not yet written.
    private func recoverHeld() throws {
        guard FileManager.default.fileExists(atPath: pendingURL.path) else { return }
        let name = pendingURL.lastPathComponent
        let v: JSONValue
        do { v = try JSONValue.parse(Foundation.Data(contentsOf: pendingURL)) } catch {
            throw LabelError.file("\(name): not valid JSON (\(error)); it holds decisions not yet in --out, fix or remove it")
        }
        guard let entries = v.array else { throw LabelError.file("\(name): expected a list") }
        for (k, e) in entries.enumerated() {
            guard let t = e["target"]?.string.flatMap(RowTarget.init(rawValue:)), let row = e["row"],
                  let item = row["item"]?.int else {
                throw LabelError.file("\(name) entry \(k): expected {\"target\": \"out\"|\"unpaired\", \"row\": {... \"item\"}}")
            }
            // Written already when the crash came between the append and the journal's update.
            if recorded[item] != nil { continue }
            try append(HeldRow(item: item, target: t, row: row))
            notes.append("\(name): appended item \(item), held when the last run stopped")
        }
        try writeJournal()
    }

    /// Appends one row as one write(2) and fsyncs it (and the folder when the file is new).
    private func append(_ h: HeldRow) throws {
        let url = url(h.target)
        let isNew = !FileManager.default.fileExists(atPath: url.path)
        let fd = open(url.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LabelError.file("cannot open \(url.path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array((h.row.serialized + "\n").utf8)
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard n == bytes.count else {
            throw LabelError.file("cannot write \(url.path): \(n < 0 ? String(cString: strerror(errno)) : "short write")")
        }
        guard fsync(fd) == 0 else { throw LabelError.file("cannot fsync \(url.path): \(String(cString: strerror(errno)))") }
        if isNew { try FileSync.sync(url.deletingLastPathComponent().path) }
        recorded[h.item] = h.row["prompt"] ?? .null
        rowCounts[h.target, default: 0] += 1
    }

    private func writeJournal() throws {
        let entries = held.keys.sorted().map { k -> JSONValue in
            let h = held[k]!
            return .object([("labeller", .string(k)), ("target", .string(h.target.rawValue)), ("row", h.row)])
        }
        if entries.isEmpty {
            if FileManager.default.fileExists(atPath: pendingURL.path) {
                try FileManager.default.removeItem(at: pendingURL)
                try FileSync.sync(pendingURL.deletingLastPathComponent().path)
            }
            return
        }
        try FileSync.writeAtomically(Foundation.Data(JSONValue.array(entries).serialized.utf8), to: pendingURL)
    }

    /// Holds `row` as `labeller`'s latest decision; the one held before is appended first.
    func hold(_ row: HeldRow, for labeller: String) throws {
        if let previous = held[labeller] { try append(previous) }
        held[labeller] = row
        try writeJournal()
    }

    /// Takes back `labeller`'s held decision (to change it), or nil.
    func unhold(_ labeller: String) throws -> HeldRow? {
        guard let h = held.removeValue(forKey: labeller) else { return nil }
        try writeJournal()
        return h
    }

    /// Appends every held decision (at shutdown).
    func flushHeld() throws {
        for k in held.keys.sorted() { try append(held[k]!) }
        held.removeAll()
        try writeJournal()
    }

    func isHeld(_ item: Int) -> Bool { held.values.contains { $0.item == item } }
}
