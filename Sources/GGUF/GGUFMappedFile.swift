// GGUFMappedFile: a read-only private memory map of a whole GGUF file, unmapped on deinit.
// Loading a model touches only the pages of the tensors asked for. Leaves out files that
// change while mapped (the format is write-once) and files larger than the address space.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class GGUFMappedFile: @unchecked Sendable {
    let path: String
    /// Nil for an empty file: mmap rejects length 0.
    let base: UnsafeRawPointer?
    let size: Int

    init(path: String) throws(GGUFError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(file: path, detail: "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(file: path, detail: "fstat: \(String(cString: strerror(errno)))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .io(file: path, detail: "not a regular file") }
        size = Int(st.st_size)
        if size == 0 { base = nil; return }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else {
            throw .io(file: path, detail: "mmap of \(size) bytes: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }
}
