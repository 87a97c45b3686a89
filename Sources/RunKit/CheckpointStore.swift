// `CheckpointStore`: the `checkpoint-<step>` directories of a run. A checkpoint is written
// into a hidden temp directory in the same parent, fsynced, marked `complete` last, then
// renamed into place, so a crash never leaves a directory that `latestComplete()` would
// resume from. The marker may name the run that wrote it, so a run resumes from and prunes only
// its own checkpoints. What goes inside (weights, optimizer state, `TrainerState`) is the
// caller's closure. Leaves out remote storage and "keep the best" policies.
import Foundation

public struct CheckpointInfo: Equatable, Sendable {
    public var step: Int
    public var url: URL
    /// The `complete` marker is present: the checkpoint was fully written.
    public var isComplete: Bool
    /// The run id in the marker (nil for markers written without one).
    public var runID: String?
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
    /// `checkpoint-<step>` (replacing an existing one of that step in one exchange where the
    /// system offers it). `runID` is recorded in the marker. If `contents` throws, the temp
    /// directory is removed and nothing else changes.
    @discardableResult
    public func write(step: Int, runID: String? = nil, _ contents: (URL) throws -> Void) throws -> URL {
        precondition(step >= 0, "checkpoint step must be >= 0")
        let fm = FileManager.default
        try fm.createDirectory(at: root, withIntermediateDirectories: true)
        let tag = UUID().uuidString.prefix(8)
        let temp = root.appendingPathComponent("\(Self.tempPrefix)\(step)-\(tag)")
        try fm.createDirectory(at: temp, withIntermediateDirectories: false)
        do {
            try contents(temp)
            TestHook.pause("checkpoint-write", step: step)
            var marker: [String: Any] = ["step": step, "time": Date().timeIntervalSince1970]
            if let runID { marker["run_id"] = runID }
            try JSONSerialization.data(withJSONObject: marker, options: [.sortedKeys])
                .write(to: temp.appendingPathComponent(Self.completeMarker))
            try FileSync.syncTree(temp)
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
        let final = url(step: step)
        if fm.fileExists(atPath: final.path) {
            if try FileSync.exchange(temp, final) {
                try? fm.removeItem(at: temp)
            } else {
                // Two renames: a crash between them leaves `.old-checkpoint-*`, which
                // `removeLeftovers` clears and `latestComplete` never reads.
                let old = root.appendingPathComponent("\(Self.oldPrefix)\(step)-\(tag)")
                try FileSync.rename(final, to: old)
                try FileSync.rename(temp, to: final)
                try? fm.removeItem(at: old)
            }
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
            let marker = fm.contents(atPath: dir.appendingPathComponent(Self.completeMarker).path)
            let runID = marker.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }?["run_id"] as? String
            out.append(CheckpointInfo(step: step, url: dir, isComplete: marker != nil, runID: runID))
        }
        return out.sorted { $0.step < $1.step }
    }

    /// The highest-step checkpoint whose `complete` marker exists (and names `runID`, when
    /// given): what `--resume` loads.
    public func latestComplete(runID: String? = nil) throws -> CheckpointInfo? {
        try list().last { $0.isComplete && (runID == nil || $0.runID == runID) }
    }

    /// Deletes complete checkpoints except the newest `keepLast` (only those of `runID`, when
    /// given: another run's are not ours to delete), and leftovers of interrupted writes
    /// (hidden temp directories). Incomplete `checkpoint-*` directories are left alone (we
    /// never create them; something else may be writing). Returns what was removed.
    @discardableResult
    public func prune(keepLast: Int, runID: String? = nil) throws -> [URL] {
        precondition(keepLast >= 1, "keepLast must be >= 1")
        let fm = FileManager.default
        var removed: [URL] = []
        for c in try list().filter({ $0.isComplete && (runID == nil || $0.runID == runID) }).dropLast(keepLast) {
            try fm.removeItem(at: c.url)
            removed.append(c.url)
        }
        return removed + (try removeLeftovers())
    }

    /// Deletes the hidden temp and old directories interrupted writes leave. Returns them.
    @discardableResult
    public func removeLeftovers() throws -> [URL] {
        let fm = FileManager.default
        var removed: [URL] = []
        for name in (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
        where name.hasPrefix(Self.tempPrefix) || name.hasPrefix(Self.oldPrefix) {
            let u = root.appendingPathComponent(name)
            try fm.removeItem(at: u)
            removed.append(u)
        }
        return removed
    }
}
