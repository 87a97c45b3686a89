// `CheckpointStore`: the `checkpoint-<step>` directories of a run. A checkpoint is written
// into a hidden temp directory in the same parent, fsynced, marked `complete` last, then
// renamed into place, so a crash never leaves a directory that `latestComplete()` would
// resume from. What goes inside (weights, optimizer state, `TrainerState`) is the caller's
// closure. Leaves out remote storage and "keep the best" policies.
import Foundation

public struct CheckpointInfo: Equatable, Sendable {
    public var step: Int
    public var url: URL
    /// The `complete` marker is present: the checkpoint was fully written.
    public var isComplete: Bool
}

public struct CheckpointStore: Sendable {
    /// The run's output directory holding `checkpoint-<step>` subdirectories.
    public let root: URL
    public static let prefix = "checkpoint-"
    /// Written last, inside the directory, before it is renamed into place.
    public static let completeMarker = "complete"
    static let tempPrefix = ".tmp-checkpoint-"
    static let oldPrefix = ".old-checkpoint-"

    public init(root: URL) { self.root = root }

    public func url(step: Int) -> URL { root.appendingPathComponent("\(Self.prefix)\(step)") }

    /// Writes checkpoint `step`: `contents` fills a fresh temp directory (its argument), then
    /// the marker is added, everything fsynced and the directory renamed to
    /// `checkpoint-<step>` (replacing an existing one of that step). If `contents` throws,
    /// the temp directory is removed and nothing else changes.
    @discardableResult
    public func write(step: Int, _ contents: (URL) throws -> Void) throws -> URL {
        precondition(step >= 0, "checkpoint step must be >= 0")
        let fm = FileManager.default
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let tag = UUID().uuidString.prefix(8)
        let temp = root.appendingPathComponent("\(Self.tempPrefix)\(step)-\(tag)")
        try fm.createDirectory(at: temp, withIntermediateDirectories: false)
        do {
            try contents(temp)
            let marker = "{\"step\": \(step), \"time\": \(Date().timeIntervalSince1970)}\n"
            try Foundation.Data(marker.utf8).write(to: temp.appendingPathComponent(Self.completeMarker))
            try FileSync.syncTree(temp)
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
        let final = url(step: step)
        if fm.fileExists(atPath: final.path) {
            let old = root.appendingPathComponent("\(Self.oldPrefix)\(step)-\(tag)")
            try FileSync.rename(final, to: old)
            try FileSync.rename(temp, to: final)
            try? fm.removeItem(at: old)
        } else {
            try FileSync.rename(temp, to: final)
        }
        try FileSync.sync(root.path)
        return final
    }

    /// Every `checkpoint-<step>` directory (complete or not), by increasing step. Temp
    /// directories of interrupted writes are not listed.
    public func list() throws -> [CheckpointInfo] {
        let fm = FileManager.default
        guard fm.fileExists(atPath: root.path) else { return [] }
        var out: [CheckpointInfo] = []
        for name in try fm.contentsOfDirectory(atPath: root.path) where name.hasPrefix(Self.prefix) {
            let digits = name.dropFirst(Self.prefix.count)
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber), let step = Int(digits) else { continue }
            let dir = root.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else { continue }
            let complete = fm.fileExists(atPath: dir.appendingPathComponent(Self.completeMarker).path)
            out.append(CheckpointInfo(step: step, url: dir, isComplete: complete))
        }
        return out.sorted { $0.step < $1.step }
    }

    /// The highest-step checkpoint whose `complete` marker exists: what `--resume` loads.
    public func latestComplete() throws -> CheckpointInfo? {
        try list().last { $0.isComplete }
    }

    /// Deletes complete checkpoints except the newest `keepLast`, and leftovers of
    /// interrupted writes (hidden temp directories). Incomplete `checkpoint-*` directories
    /// are left alone (we never create them; something else may be writing). Returns what
    /// was removed.
    @discardableResult
    public func prune(keepLast: Int) throws -> [URL] {
        precondition(keepLast >= 1, "keepLast must be >= 1")
        let fm = FileManager.default
        var removed: [URL] = []
        for c in try list().filter(\.isComplete).dropLast(keepLast) {
            try fm.removeItem(at: c.url)
            removed.append(c.url)
        }
        for name in (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
        where name.hasPrefix(Self.tempPrefix) || name.hasPrefix(Self.oldPrefix) {
            let u = root.appendingPathComponent(name)
            try fm.removeItem(at: u)
            removed.append(u)
        }
        return removed
    }
}
