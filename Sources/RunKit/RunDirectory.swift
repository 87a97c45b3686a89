// RunDirectory: a training run's output folder. `check` validates the path before anything
// loads (not a file, writable, empty unless overwriting or resuming); `open` creates it, finishes
// or cleans what a killed run left (staged publishes, temp checkpoints), and records the run's
// identity in `run.json`, comparing it on resume. Only this run's checkpoints are resumed from or
// pruned. Leaves out locking against two processes writing the same folder.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A path that cannot serve as what it is meant for; the message says what was expected.
public struct RunDirectoryError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var message: String
    public init(path: String, message: String) { self.path = path; self.message = message }
    public var description: String { "\(path): \(message)" }
}

public struct RunDirectory: Sendable {
    public let url: URL
    /// This run's identity (on resume, with the recorded run id).
    public let identity: RunIdentity
    /// True when `open` continued a recorded run.
    public let resumed: Bool
    public var store: CheckpointStore { CheckpointStore(root: url) }

    /// Whether `path` can hold a run at all: not empty, not a file, and writable (or creatable).
    /// `field` names the setting in messages (e.g. "output_dir").
    public static func checkLocation(_ path: String, field: String = "output_dir") throws {
        guard !path.isEmpty else {
            throw RunDirectoryError(path: field, message: "is empty; expected the path of a folder for checkpoints, metrics and the model")
        }
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw RunDirectoryError(path: path,
                                        message: "\(field) exists and is a file; expected a directory (or a path that does not exist yet)")
            }
            guard access(path, W_OK | X_OK) == 0 else {
                throw RunDirectoryError(path: path, message: "\(field) is not writable; expected a directory this user can write")
            }
            return
        }
        // The nearest existing ancestor must be a writable directory, or the folder cannot be created.
        var ancestor = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent()
        while !fm.fileExists(atPath: ancestor.path, isDirectory: &isDir), ancestor.path != "/" {
            ancestor = ancestor.deletingLastPathComponent()
        }
        guard isDir.boolValue else {
            throw RunDirectoryError(path: path, message: "\(field) cannot be created: \(ancestor.path) is a file; expected a directory")
        }
        guard access(ancestor.path, W_OK | X_OK) == 0 else {
            throw RunDirectoryError(path: path, message: "\(field) cannot be created: \(ancestor.path) is not writable")
        }
    }

    /// `checkLocation`, and a folder that already holds anything is refused unless `overwrite`
    /// (files this run does not write are kept) or `resume` of the run recorded in it.
    public static func check(_ path: String, field: String = "output_dir", overwrite: Bool, resume: Bool) throws {
        try checkLocation(path, field: field)
        let entries = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
        if entries.isEmpty || overwrite { return }
        if resume {
            if entries.contains(RunIdentity.fileName) { return }
            throw RunDirectoryError(path: path, message: "\(field) holds no \(RunIdentity.fileName), so there is no run of this tool to "
                                    + "resume; expected a folder a previous run wrote (or pass --overwrite to start a new run here)")
        }
        let shown = entries.prefix(4).joined(separator: ", ") + (entries.count > 4 ? ", ... (\(entries.count) entries)" : "")
        let hint = field == "output_dir"
            ? "Pass --overwrite (overwrite_output_dir: true) to write the run into it (files the run does not write are kept), "
                + "or --resume to continue the run recorded there"
            : "Pass --overwrite to write into it (files not written are kept)"
        throw RunDirectoryError(path: path, message: "\(field) is not empty (\(shown)); expected an empty or new folder. \(hint)")
    }

    /// Checks and creates the folder, finishes or removes leftovers of a killed run, then either
    /// continues the recorded run (`resume`, identities must match) or records a new one.
    public static func open(_ path: String, field: String = "output_dir", identity: RunIdentity, overwrite: Bool, resume: Bool,
                            log: (String) -> Void = { _ in }) throws -> RunDirectory {
        try check(path, field: field, overwrite: overwrite, resume: resume)
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for name in try DirectoryPublish.recover(in: url) { log("finished publishing \(name) left by an interrupted run in \(path)") }
        for leftover in try CheckpointStore(root: url).removeLeftovers() {
            log("removed \(leftover.lastPathComponent), a checkpoint an interrupted run did not finish")
        }
        if resume, let recorded = try RunIdentity.load(from: url) {
            let diffs = recorded.differences(from: identity)
            guard diffs.isEmpty else {
                throw RunDirectoryError(path: url.appendingPathComponent(RunIdentity.fileName).path,
                                        message: "cannot resume: this run differs from the recorded one in "
                                        + "\(diffs.joined(separator: "; ")). Expected the same model, data and settings; "
                                        + "start a new run in another folder instead")
            }
            return RunDirectory(url: url, identity: RunIdentity(runID: recorded.runID, fields: identity.fields), resumed: true)
        }
        try identity.save(in: url)
        return RunDirectory(url: url, identity: identity, resumed: false)
    }

    /// The newest complete checkpoint this run wrote (what a resume loads).
    public func latestCheckpoint() throws -> CheckpointInfo? { try store.latestComplete(runID: identity.runID) }

    /// Writes checkpoint `step` marked as this run's.
    @discardableResult
    public func writeCheckpoint(step: Int, _ contents: (URL) throws -> Void) throws -> URL {
        try store.write(step: step, runID: identity.runID, contents)
    }

    /// Removes this run's complete checkpoints except the newest `keepLast`; other runs' are kept.
    @discardableResult
    public func prune(keepLast: Int) throws -> [URL] { try store.prune(keepLast: keepLast, runID: identity.runID) }

    /// Keeps the lines of the JSONL file `name` whose integer `key` is <= `step` (a resumed run
    /// rewrites what came after; a new run keeps nothing). A torn last line is dropped.
    public func cutJSONL(_ name: String, key: String, through step: Int) throws {
        let file = url.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: file.path) else { return }
        let text = try String(contentsOf: file, encoding: .utf8)
        let kept = text.split(separator: "\n").filter { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Foundation.Data(line.utf8)) as? [String: Any],
                  let n = obj[key] as? Int else { return false }
            return n <= step
        }
        try FileSync.writeAtomically(Foundation.Data(kept.map { $0 + "\n" }.joined().utf8), to: file)
    }
}

/// A decoding error as one readable line: the field path and what was wrong.
func describe(_ error: Error) -> String {
    guard let e = error as? DecodingError else { return "\(error)" }
    func at(_ c: DecodingError.Context) -> String {
        let path = c.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        return path.isEmpty ? c.debugDescription : "field \(path): \(c.debugDescription)"
    }
    switch e {
    case let .typeMismatch(_, c), let .valueNotFound(_, c), let .dataCorrupted(c): return at(c)
    case let .keyNotFound(key, c): return at(c) + " (missing \"\(key.stringValue)\")"
    @unknown default: return "\(e)"
    }
}
