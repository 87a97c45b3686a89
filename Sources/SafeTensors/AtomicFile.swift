// AtomicFile: write-then-rename, so a crash mid-save leaves the old file intact and never
// a truncated one: temp file in the destination directory (same filesystem, so rename is
// atomic), fsync the data, rename over the target, fsync the directory entry.
// Leaves out: Windows, and locking against concurrent writers of the same path.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum AtomicFile {
    struct Sink {
        let fd: Int32
        let path: String

        func write(_ bytes: ArraySlice<UInt8>) throws(SafeTensorsError) {
            // Array.withUnsafeBytes is untyped `rethrows`; carry the typed error out by hand.
            var failure: SafeTensorsError?
            bytes.withUnsafeBytes { b in
                do throws(SafeTensorsError) { try write(b) } catch { failure = error }
            }
            if let failure { throw failure }
        }

        /// write(2) may write less than asked or be interrupted; loop until done.
        func write(_ bytes: UnsafeRawBufferPointer) throws(SafeTensorsError) {
            guard var p = bytes.baseAddress else { return }
            var left = bytes.count
            while left > 0 {
                #if canImport(Glibc)
                let n = Glibc.write(fd, p, left)
                #else
                let n = Darwin.write(fd, p, left)
                #endif
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .io(path: path, detail: "write: \(errnoText())")
                }
                p += n
                left -= n
            }
        }
    }

    static func write(path: String, _ body: (Sink) throws(SafeTensorsError) -> Void) throws(SafeTensorsError) {
        let slash = path.lastIndex(of: "/")
        let dir = slash.map { String(path[..<$0]) }.map { $0.isEmpty ? "/" : $0 } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let tmp = "\(dir)/.\(base).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: tmp, detail: "create temp file: \(errnoText())") }
        let sink = Sink(fd: fd, path: tmp)
        do throws(SafeTensorsError) {
            try body(sink)
            guard fsync(fd) == 0 else { throw SafeTensorsError.io(path: tmp, detail: "fsync: \(errnoText())") }
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        guard close(fd) == 0 else {
            unlink(tmp)
            throw .io(path: tmp, detail: "close: \(errnoText())")
        }
        guard rename(tmp, path) == 0 else {
            let detail = errnoText()
            unlink(tmp)
            throw .io(path: path, detail: "rename from \(tmp): \(detail)")
        }
        // The rename is durable only once the directory itself is synced.
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            close(dfd)
        }
    }
}
