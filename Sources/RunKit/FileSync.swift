// Durability helpers for checkpoints: fsync a file or directory, fsync a whole tree, and
// rename(2) (atomic within one file system). Errors carry the path and errno text.
// Leaves out Windows.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct FileSyncError: Error, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var code: Int32
    public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
}

enum FileSync {
    /// fsync on `path` (a file or a directory).
    static func sync(_ path: String) throws {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileSyncError(path: path, operation: "open", code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw FileSyncError(path: path, operation: "fsync", code: errno) }
    }

    /// fsync every file and directory under `root`, deepest first, then `root` itself.
    static func syncTree(_ root: URL) throws {
        let fm = FileManager.default
        var dirs: [String] = [root.path]
        if let e = fm.enumerator(at: root, includingPropertiesForKeys: [.isDirectoryKey, .isSymbolicLinkKey]) {
            for case let url as URL in e {
                let v = try url.resourceValues(forKeys: [.isDirectoryKey, .isSymbolicLinkKey])
                if v.isSymbolicLink == true { continue }
                if v.isDirectory == true { dirs.append(url.path) } else { try sync(url.path) }
            }
        }
        for d in dirs.reversed() { try sync(d) }
    }

    static func rename(_ from: URL, to: URL) throws {
        guard Glibc.rename(from.path, to.path) == 0 else { throw FileSyncError(path: "\(from.path) -> \(to.path)", operation: "rename", code: errno) }
    }
}
