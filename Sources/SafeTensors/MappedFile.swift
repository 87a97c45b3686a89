// MappedFile: a read-only, private memory map of a whole file, unmapped on deinit.
// Reading a multi-GB checkpoint touches only the pages of the tensors asked for.
// Leaves out: writing (SafeTensorsWriter uses plain write(2)) and files that change while
// mapped (truncating a mapped file under us is undefined; the format is write-once).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

final class MappedFile: @unchecked Sendable {
    let path: String
    /// Nil for an empty file: mmap rejects length 0.
    private let base: UnsafeRawPointer?
    let size: Int

    init(path: String) throws(SafeTensorsError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, detail: "open: \(errnoText())") }
        // The mapping keeps the file alive; the descriptor is not needed after mmap.
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(path: path, detail: "fstat: \(errnoText())") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw .io(path: path, detail: "not a regular file") }
        size = Int(st.st_size)
        if size == 0 {
            base = nil
            return
        }
        let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let p, p != MAP_FAILED else { throw .io(path: path, detail: "mmap of \(size) bytes: \(errnoText())") }
        base = UnsafeRawPointer(p)
    }

    deinit {
        if let base { munmap(UnsafeMutableRawPointer(mutating: base), size) }
    }

    /// The bytes `range` of the file; the caller has checked it lies within `0..<size`.
    /// Valid only while `self` is alive: keep the owner alive across the body.
    func withBytes<R, E: Error>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        precondition(range.lowerBound >= 0 && range.upperBound <= size, "MappedFile: range \(range) outside \(size) bytes")
        guard let base else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try withExtendedLifetime(self) { () throws(E) -> R in
            try body(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
        }
    }
}

func errnoText() -> String {
    String(cString: strerror(errno))
}
