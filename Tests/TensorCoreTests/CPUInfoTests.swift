// CPUInfo reads cache sizes from a sysfs-shaped folder (written here, so the test does not
// depend on this machine), and GemmBlocking derives its block sizes from them.
// Leaves out: the real /sys of the machine running the tests (only checked to be readable).
import Foundation
import Testing
import TensorCore

@Suite struct CPUInfoTests {
    /// Writes index0, index1, ... with the given (level, type, size, shared_cpu_list) and returns the folder.
    static func fakeCacheFolder(_ entries: [(String, String, String, String)]) throws -> URL {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cpuinfo-\(UUID().uuidString)")
        for (i, e) in entries.enumerated() {
            let dir = root.appendingPathComponent("index\(i)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            for (name, value) in [("level", e.0), ("type", e.1), ("size", e.2), ("shared_cpu_list", e.3)] {
                try (value + "\n").write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
            }
        }
        return root
    }

    /// A Sapphire Rapids-like core (48K L1d, 2M L2 shared by an SMT pair, 105M L3 over 112 CPUs).
    @Test func readsDataAndUnifiedCachesSkippingInstruction() throws {
        let root = try Self.fakeCacheFolder([("1", "Data", "48K", "0,56"), ("1", "Instruction", "32K", "0,56"),
                                             ("2", "Unified", "2048K", "0,56"), ("3", "Unified", "107520K", "0-111")])
        defer { try? FileManager.default.removeItem(at: root) }
        let info = try #require(CPUInfo.read(cacheDirectory: root.path))
        #expect(info.caches == [CacheLevel(level: 1, kind: .data, bytes: 48 << 10, sharedBy: 2),
                                CacheLevel(level: 2, kind: .unified, bytes: 2 << 20, sharedBy: 2),
                                CacheLevel(level: 3, kind: .unified, bytes: 107_520 << 10, sharedBy: 112)])
        #expect(info.cache(level: 2)?.bytesPerThread == 1 << 20)
        #expect(info.source == .sysfs(root.path))
    }

    @Test func unreadableEntriesAreSkippedAndEmptyIsNil() throws {
        let root = try Self.fakeCacheFolder([("1", "Data", "lots", "0"), ("x", "Unified", "1M", "0"),
                                             ("2", "Unified", "1M", "0-1")])
        defer { try? FileManager.default.removeItem(at: root) }
        let info = try #require(CPUInfo.read(cacheDirectory: root.path))
        #expect(info.caches == [CacheLevel(level: 2, kind: .unified, bytes: 1 << 20, sharedBy: 2)])
        #expect(CPUInfo.read(cacheDirectory: root.path + "/missing") == nil)
        let onlyInstruction = try Self.fakeCacheFolder([("1", "Instruction", "32K", "0")])
        defer { try? FileManager.default.removeItem(at: onlyInstruction) }
        #expect(CPUInfo.read(cacheDirectory: onlyInstruction.path) == nil)
    }

    /// Derivations worked by hand (GemmBlocking(cpu:) in Gemm+Packed.swift), nr = 32, mr = 12:
    /// kc = clamp(L2 / 8 / 128, 128...1024); mc = (3/4 L2 - 128 kc) / (4 kc), down to a
    /// multiple of 12; nc = L3 share / 2 / (4 kc), down to a multiple of 32, at most 4096.
    @Test func blockingFromCaches() {
        func cpu(l2: Int, l2Shared: Int = 1, l3: Int?, l3Shared: Int = 1) -> CPUInfo {
            var caches = [CacheLevel(level: 1, kind: .data, bytes: 32 << 10, sharedBy: 1),
                          CacheLevel(level: 2, kind: .unified, bytes: l2, sharedBy: l2Shared)]
            if let l3 { caches.append(CacheLevel(level: 3, kind: .unified, bytes: l3, sharedBy: l3Shared)) }
            return CPUInfo(caches: caches, source: .fallback)
        }
        // Zen 4 here: 1 MiB L2, 32 MiB L3 over 2 CPUs. kc = 1048576/8/128 = 1024;
        // mc = (786432 - 131072) / 4096 = 160 -> 156; nc = 16 MiB / 2 / 4096 = 2048.
        #expect(GemmBlocking(cpu: cpu(l2: 1 << 20, l3: 32 << 20, l3Shared: 2)) == GemmBlocking(kc: 1024, mc: 156, nc: 2048))
        // Sapphire Rapids: 2 MiB L2 per SMT pair = 1 MiB a thread -> same kc, mc; 105 MiB L3
        // over 112 CPUs = 960 KiB a thread: nc = 491520 / 4096 = 120 -> 96, raised to the floor 256.
        #expect(GemmBlocking(cpu: cpu(l2: 2 << 20, l2Shared: 2, l3: 107_520 << 10, l3Shared: 112))
                == GemmBlocking(kc: 1024, mc: 156, nc: 256))
        // 256 KiB L2 (Skylake client), no L3 reported: kc = 256; mc = (196608 - 32768) / 1024 = 160
        // -> 156; nc = 2 L2 / 2 / 1024 = 256.
        #expect(GemmBlocking(cpu: cpu(l2: 256 << 10, l3: nil)) == GemmBlocking(kc: 256, mc: 156, nc: 256))
        // Tiny L2 (64 KiB): kc = 64 clamps to 128; mc = (49152 - 16384) / 512 = 64 -> 60;
        // nc = 131072 / 2 / 512 = 128, raised to 256.
        #expect(GemmBlocking(cpu: cpu(l2: 64 << 10, l3: nil)) == GemmBlocking(kc: 128, mc: 60, nc: 256))
    }

    @Test func thisMachineReportsSomething() {
        let info = CPUInfo.current
        #expect(info.cache(level: 2) != nil)
        let b = GemmBlocking.current
        #expect(b.kc >= 128 && b.kc <= 1024 && b.mc % 12 == 0 && b.nc % 32 == 0, "\(b)")
    }
}
