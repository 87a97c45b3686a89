// CPUInfo: the data and unified caches this CPU reports (Linux: /sys/devices/system/cpu/cpu0/cache,
// the kernel's decoding of CPUID leaf 4 on Intel and 0x8000001D on AMD), for kernels that size
// their blocks from the caches (GemmBlocking in Gemm+Packed.swift) instead of constants.
// Leaves out: instruction caches, TLBs, per-core differences (hybrid CPUs: cpu0 speaks for all),
// and non-Linux systems, which get `CPUInfo.fallback`.
import Foundation

public struct CacheLevel: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable { case data, unified }
    /// 1 for L1, 2 for L2, ...
    public let level: Int
    public let kind: Kind
    /// Capacity of one instance, bytes.
    public let bytes: Int
    /// Logical CPUs sharing one instance (1 = private to a core without SMT).
    public let sharedBy: Int

    public init(level: Int, kind: Kind, bytes: Int, sharedBy: Int) {
        self.level = level; self.kind = kind; self.bytes = bytes; self.sharedBy = max(1, sharedBy)
    }

    /// One thread's share when every CPU sharing this cache runs a GEMM thread.
    public var bytesPerThread: Int { bytes / sharedBy }

    public var description: String {
        "L\(level) \(bytes >> 10) KiB" + (sharedBy > 1 ? " shared by \(sharedBy)" : "")
    }
}

public struct CPUInfo: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// Read from this sysfs cache directory.
        case sysfs(String)
        /// Nothing readable: the sizes of `fallback`.
        case fallback
    }

    /// Data and unified caches, by level.
    public let caches: [CacheLevel]
    public let source: Source

    public init(caches: [CacheLevel], source: Source) {
        self.caches = caches.sorted { $0.level < $1.level }
        self.source = source
    }

    /// This machine, read once.
    public static let current: CPUInfo = read(cacheDirectory: "/sys/devices/system/cpu/cpu0/cache") ?? fallback

    /// A conservative common x86 server core (32 KiB L1d, 1 MiB L2, 2 MiB of L3 per core) for
    /// systems that report nothing: blocks sized from it fit every CPU in PERF-NOTES.
    public static let fallback = CPUInfo(caches: [
        CacheLevel(level: 1, kind: .data, bytes: 32 << 10, sharedBy: 1),
        CacheLevel(level: 2, kind: .unified, bytes: 1 << 20, sharedBy: 1),
        CacheLevel(level: 3, kind: .unified, bytes: 2 << 20, sharedBy: 1),
    ], source: .fallback)

    /// The data (or unified) cache of `level`, if reported.
    public func cache(level: Int) -> CacheLevel? { caches.first { $0.level == level } }

    /// Parses a sysfs cache directory (`index0`, `index1`, ... each with `level`, `type`,
    /// `size`, `shared_cpu_list`). Instruction caches and entries with an unreadable level,
    /// type or size are skipped; nil when no data or unified cache remains.
    public static func read(cacheDirectory: String) -> CPUInfo? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: cacheDirectory) else { return nil }
        var caches: [CacheLevel] = []
        for entry in entries.sorted() where entry.hasPrefix("index") {
            func field(_ name: String) -> String? {
                (try? String(contentsOfFile: "\(cacheDirectory)/\(entry)/\(name)", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let level = field("level").flatMap({ Int($0) }), level > 0,
                  let bytes = field("size").flatMap(parseSize), bytes > 0 else { continue }
            let kind: CacheLevel.Kind
            switch field("type") {
            case "Data": kind = .data
            case "Unified": kind = .unified
            default: continue   // Instruction, or unknown
            }
            let sharedBy = field("shared_cpu_list").map(countCPUs) ?? 1
            caches.append(CacheLevel(level: level, kind: kind, bytes: bytes, sharedBy: sharedBy))
        }
        guard !caches.isEmpty else { return nil }
        return CPUInfo(caches: caches, source: .sysfs(cacheDirectory))
    }

    /// "48K", "2048K", "32M", "1G" or plain bytes; nil for anything else.
    static func parseSize(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        let shift: Int
        switch last {
        case "K", "k": shift = 10
        case "M", "m": shift = 20
        case "G", "g": shift = 30
        default: return Int(text)
        }
        return Int(text.dropLast()).map { $0 << shift }
    }

    /// Counts the CPUs of a list such as "0-3,8-11" or "5"; 1 if unreadable.
    static func countCPUs(_ list: String) -> Int {
        var count = 0
        for part in list.split(separator: ",") {
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            switch bounds.count {
            case 1: count += 1
            case 2 where bounds[1] >= bounds[0]: count += bounds[1] - bounds[0] + 1
            default: return 1
            }
        }
        return max(1, count)
    }
}
