// BufferCache: a size-bucketed cache of large float buffers. Without it every op's output
// is a fresh mmap that the kernel must zero page by page on first touch (measured: 12% of
// a GPT-2 training step in `clear_page_erms`). Freed buffers are kept by rounded size and
// handed to the next request of that size, up to a byte limit (RLHF_BUFFER_CACHE_MB,
// default 4096). Small buffers go straight to the system allocator.
import Foundation
import Synchronization

enum BufferCache {
    /// Buffers below this size are not cached (malloc's own bins serve them well).
    static let minimumCachedBytes = 1 << 16

    struct State: ~Copyable {
        var free: [Int: [UInt]] = [:]   // addresses, as Sendable integers
        var cachedBytes = 0
    }

    static let state = Mutex(State())
    static let limitBytes: Int = {
        if let s = ProcessInfo.processInfo.environment["RLHF_BUFFER_CACHE_MB"], let mb = Int(s), mb >= 0 { return mb << 20 }
        return 4096 << 20
    }()

    /// Rounds up so nearby sizes share a bucket: 64 KiB steps below 1 MiB, 1 MiB steps above.
    @inline(__always)
    static func bucket(_ bytes: Int) -> Int {
        let step = bytes < (1 << 20) ? (1 << 16) : (1 << 20)
        return (bytes + step - 1) & ~(step - 1)
    }

    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        if bytes >= minimumCachedBytes {
            let size = bucket(bytes)
            let reused: UInt? = state.withLock { s in
                guard let p = s.free[size]?.popLast() else { return nil }
                s.cachedBytes -= size
                return p
            }
            if let reused, let p = UnsafeMutableRawPointer(bitPattern: reused) { return p }
            return systemAllocate(size)
        }
        return systemAllocate(bytes)
    }

    static func release(_ p: UnsafeMutableRawPointer, bytes: Int) {
        if bytes >= minimumCachedBytes {
            let size = bucket(bytes)
            let address = UInt(bitPattern: p)
            let kept = state.withLock { s -> Bool in
                guard s.cachedBytes + size <= limitBytes else { return false }
                s.free[size, default: []].append(address)
                s.cachedBytes += size
                return true
            }
            if kept { return }
        }
        Foundation.free(p)
    }

    /// Returns every cached buffer to the system (e.g. between phases with different shapes).
    static func trim() {
        let all = state.withLock { s -> [UInt] in
            let ps = s.free.values.flatMap { $0 }
            s.free = [:]; s.cachedBytes = 0
            return ps
        }
        for a in all { Foundation.free(UnsafeMutableRawPointer(bitPattern: a)) }
    }

    private static func systemAllocate(_ bytes: Int) -> UnsafeMutableRawPointer {
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, 64, max(bytes, 64)) == 0, let raw else {
            fatalError("TensorStorage: out of memory allocating \(bytes) bytes")
        }
        return raw
    }
}
