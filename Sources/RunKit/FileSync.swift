// Durability helpers for checkpoints: fsync a file or directory, fsync a whole tree, rename(2)
// (atomic within one file system), an atomic exchange of two paths where Linux offers one, and a
// small file written whole. Errors carry the path and errno text. Leaves out Windows.
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

public enum FileSync {
    /// fsync on `path` (a file or a directory).
    public static func sync(_ path: String) throws {
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

    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    /// glibc's renameat2 (2.28+), looked up at run time: Swift's Glibc module does not export it.
    nonisolated(unsafe) static let renameat2: RenameAt2? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "renameat2")
        .map { unsafeBitCast($0, to: RenameAt2.self) }

    /// Swaps two existing paths in one step (renameat2 RENAME_EXCHANGE). Returns false where the
    /// system or file system cannot, so the caller falls back to two renames.
    static func exchange(_ a: URL, _ b: URL) throws -> Bool {
        guard let renameat2 else { return false }
        let renameExchange: UInt32 = 2
        if renameat2(AT_FDCWD, a.path, AT_FDCWD, b.path, renameExchange) == 0 { return true }
        if errno == EINVAL || errno == ENOSYS { return false }
        throw FileSyncError(path: "\(a.path) <-> \(b.path)", operation: "renameat2", code: errno)
    }

    /// Writes `data` to a temp file beside `url`, fsyncs it, renames it over `url` and fsyncs
    /// the folder: a reader sees the old contents or the new, never a mix.
    public static func writeAtomically(_ data: Foundation.Data, to url: URL) throws {
        let temp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        do {
            try data.write(to: temp)
            try sync(temp.path)
            try rename(temp, to: url)
        } catch {
            try? FileManager.default.removeItem(at: temp)
            throw error
        }
        try sync(url.deletingLastPathComponent().path)
    }
}
