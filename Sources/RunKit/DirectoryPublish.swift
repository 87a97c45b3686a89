// DirectoryPublish: puts a set of files into a folder that may hold other things (a run's output
// folder, a user's model folder). Each file is staged whole and fsynced in a hidden
// `.publish-<tag>` folder inside the target, a manifest written last marks the staging complete,
// then each file is renamed over its name (atomic), weights last. `recover` finishes a complete
// staging a killed process left and removes an incomplete one. Files outside the set are never
// touched. Leaves out subfolders in the published set.
import Foundation

public enum DirectoryPublish {
    public static let stagingPrefix = ".publish-"
    static let manifestName = "manifest.json"
    static let filesName = "files"

    /// `fill` writes a new folder at the URL it is given (nothing exists there yet); its files are
    /// then moved into `dir`, `*.safetensors` last so the old weights stay until everything else is
    /// in place. `pausePoint` names a `TestHook` point hit after the first file is moved.
    /// Returns the published file names.
    @discardableResult
    public static func publish(into dir: URL, pausePoint: String? = nil, _ fill: (URL) throws -> Void) throws -> [String] {
        let fm = FileManager.default
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let staging = dir.appendingPathComponent("\(stagingPrefix)\(UUID().uuidString.prefix(8).lowercased())")
        try fm.createDirectory(at: staging, withIntermediateDirectories: false)
        let names: [String]
        do {
            let files = staging.appendingPathComponent(filesName)
            try fill(files)
            names = try fm.contentsOfDirectory(atPath: files.path).sorted { a, b in
                let (wa, wb) = (a.hasSuffix(".safetensors"), b.hasSuffix(".safetensors"))
                return wa != wb ? wb : a < b
            }
            for n in names {
                var isDir: ObjCBool = false
                if fm.fileExists(atPath: files.appendingPathComponent(n).path, isDirectory: &isDir), isDir.boolValue {
                    throw RunDirectoryError(path: files.appendingPathComponent(n).path, message: "a folder; only files can be published")
                }
                var target: ObjCBool = false
                if fm.fileExists(atPath: dir.appendingPathComponent(n).path, isDirectory: &target), target.boolValue {
                    throw RunDirectoryError(path: dir.appendingPathComponent(n).path,
                                            message: "is a folder; expected a file (or nothing) where \(n) is saved")
                }
            }
            try FileSync.syncTree(staging)
            try FileSync.writeAtomically(try JSONEncoder().encode(names), to: staging.appendingPathComponent(manifestName))
        } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
        try finish(staging, into: dir, names: names, pausePoint: pausePoint)
        return names
    }

    /// Moves the staged files still present into `dir`, then removes the staging folder.
    static func finish(_ staging: URL, into dir: URL, names: [String], pausePoint: String?) throws {
        let fm = FileManager.default
        let files = staging.appendingPathComponent(filesName)
        for (i, n) in names.enumerated() {
            let from = files.appendingPathComponent(n)
            if fm.fileExists(atPath: from.path) { try FileSync.rename(from, to: dir.appendingPathComponent(n)) }
            if i == 0, let pausePoint { TestHook.pause(pausePoint) }
        }
        try FileSync.sync(dir.path)
        try fm.removeItem(at: staging)
    }

    /// Finishes every complete staging in `dir` (a publish killed after its manifest was written)
    /// and removes incomplete ones. Returns the names of the files it published.
    @discardableResult
    public static func recover(in dir: URL) throws -> [String] {
        let fm = FileManager.default
        var published: [String] = []
        for name in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] where name.hasPrefix(stagingPrefix) {
            let staging = dir.appendingPathComponent(name)
            let manifest = staging.appendingPathComponent(manifestName)
            if let data = fm.contents(atPath: manifest.path), let names = try? JSONDecoder().decode([String].self, from: data) {
                try finish(staging, into: dir, names: names, pausePoint: nil)
                published += names
            } else {
                try fm.removeItem(at: staging)
            }
        }
        return published
    }
}
