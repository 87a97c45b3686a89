// The fast GEMM path: Goto/BLIS-style blocking with block sizes derived from the cache sizes
// the CPU reports (GemmBlocking below, from CPUInfo.swift). op(B) is packed into kc x 32 panels and op(A)
// into kc x 12 ones (transpositions absorbed by the packing), then the 12 x 32 micro-kernel
// sweeps them. Work is split over the pool by blocks of N (or of M when N is narrow).
// Leaves out: packing (Gemm+Packing.swift), small M (Gemm+SmallM.swift), the micro-kernel.
import Synchronization

/// Block sizes of the packed GEMM. The loops are jc (nc columns of B) > pc (kc deep) >
/// ic (mc rows of A) > 32-wide B panel > 12-high A panel, so: one kc x 32 B panel is swept
/// by every A panel of the block; the mc x kc A block is swept by every B panel; the
/// kc x nc B block is reused by every A block.
public struct GemmBlocking: Sendable, Equatable, CustomStringConvertible {
    /// Depth of one packed block, at most (k is split into equal blocks no deeper than this).
    public let kc: Int
    /// Rows of A per packed block, a multiple of 12.
    public let mc: Int
    /// Columns of B per packed block, a multiple of 32.
    public let nc: Int

    /// Explicit sizes (tests, experiments); rounded up to whole micro-panels.
    public init(kc: Int, mc: Int, nc: Int) {
        let mr = Gemm.microRows, nr = Gemm.microCols
        self.kc = max(1, kc)
        self.mc = max(mr, (mc + mr - 1) / mr * mr)
        self.nc = max(nr, (nc + nr - 1) / nr * nr)
    }

    /// Sizes from one thread's share of the caches (every sharing CPU may run a GEMM thread):
    /// - kc: the kc x 32 B panel (128 kc bytes) takes 1/8 of L2. The kernel streams both
    ///   panels from L2 (2 B loads and 12 A broadcasts per 24 FMAs, ~15 bytes a cycle), and
    ///   deep blocks mean fewer passes over C: on a 1 MiB L2 (Zen 4) kc = 1024 beat 256 by
    ///   ~10%. Clamped to 128...1024: deeper was never measured.
    /// - mc: the A block (4 mc kc bytes) and that B panel fill 3/4 of L2, the rest left to C
    ///   tiles and the other stream.
    /// - nc: the kc x nc B block takes half of this thread's L3 share (2 L2s without an L3),
    ///   at most 4096 columns (scratch stays bounded: 16 MiB at kc = 1024).
    public init(cpu: CPUInfo) {
        let mr = Gemm.microRows, nr = Gemm.microCols
        let l2 = (cpu.cache(level: 2) ?? CPUInfo.fallback.cache(level: 2)!).bytesPerThread
        let l3 = cpu.cache(level: 3)?.bytesPerThread ?? 2 * l2
        let kc = min(1024, max(128, l2 / 8 / (4 * nr) / 16 * 16))
        let mc = min(1020, max(2 * mr, (l2 * 3 / 4 - 4 * nr * kc) / (4 * kc) / mr * mr))
        let nc = min(4096, max(8 * nr, l3 / 2 / (4 * kc) / nr * nr))
        self.init(kc: kc, mc: mc, nc: nc)
    }

    /// This machine's blocking (from `CPUInfo.current`).
    public static let current = GemmBlocking(cpu: .current)

    public var description: String { "kc \(kc) mc \(mc) nc \(nc)" }
}

extension Gemm {
    /// Below this many multiply-adds a second thread costs more than it saves.
    static let parallelThreshold = 1 << 20

    static func multiplyPacked(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float, beta: Float, pool: ThreadPool, blocking: GemmBlocking
    ) {
        let operands = UncheckedSendable((a, b, c))
        splitOverPool(m: m, n: n, k: k, mr: microRows, nr: microCols, pool: pool) { rows, cols in
            let (a, b, c) = operands.value
            packedBlock(rows: rows, cols: cols, k: k, a: a, lda: lda, transA: transA,
                        b: b, ldb: ldb, transB: transB, c: c, ldc: ldc, alpha: alpha, beta: beta,
                        blocking: blocking)
        }
    }

    /// Splits C (m x n) into whole mr x nr panels over the pool and runs `block` on each share:
    /// N when each thread gets at least two column panels, else M. One thread below
    /// `parallelThreshold` multiply-adds. Shared by the fp32 and bf16 paths.
    static func splitOverPool(m: Int, n: Int, k: Int, mr: Int, nr: Int, pool: ThreadPool,
                              _ block: (_ rows: Range<Int>, _ cols: Range<Int>) -> Void) {
        let threads = m * n * k >= parallelThreshold ? pool.threadCount : 1
        let splitN = n >= 2 * nr * threads || m < 2 * mr * threads
        let unit = splitN ? nr : mr
        let extent = splitN ? n : m
        let units = (extent + unit - 1) / unit
        let tasks = max(1, min(threads, units))
        func share(_ task: Int) {
            let lo = units * task / tasks * unit
            let hi = min(extent, units * (task + 1) / tasks * unit)
            guard lo < hi else { return }
            block(splitN ? 0..<m : lo..<hi, splitN ? lo..<hi : 0..<n)
        }
        if tasks == 1 { share(0) } else { pool.parallelFor(tasks) { share($0) } }
    }

    /// The micro-kernel with run-time strides into a 12 x 32 scratch tile (alpha 1, beta 0):
    /// one out-of-line copy serves every edge tile.
    @inline(never)
    private static func edgeKernel(_ kc: Int, _ a: UnsafePointer<Float>, _ rowStride: Int, _ depthStride: Int,
                           _ b: UnsafePointer<Float>, _ tile: UnsafeMutablePointer<Float>) {
        microKernel(kc, a, rowStride, depthStride, b, tile, microCols, 1, 0)
    }

    /// C[rows, cols] on one thread, with its own packing buffers.
    private static func packedBlock(
        rows: Range<Int>, cols: Range<Int>, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float, blocking: GemmBlocking
    ) {
        let mr = microRows, nr = microCols
        let depthBlocks = (k + blocking.kc - 1) / blocking.kc
        let kc = (k + depthBlocks - 1) / depthBlocks
        let nc = min(blocking.nc, (cols.count + nr - 1) / nr * nr)
        let mc = min(blocking.mc, (rows.count + mr - 1) / mr * mr)
        let bFloats = kc * nc, aFloats = kc * mc + 16, tileFloats = mr * nr
        let scratch = GemmScratch.take(floats: bFloats + aFloats + tileFloats)
        defer { GemmScratch.give(scratch) }
        let bPack = scratch.pointer, aPack = scratch.pointer + bFloats, tile = aPack + aFloats

        for jc in stride(from: cols.lowerBound, to: cols.upperBound, by: nc) {
            let ncur = min(nc, cols.upperBound - jc)
            let bPanels = (ncur + nr - 1) / nr
            for pc in stride(from: 0, to: k, by: kc) {
                let kcur = min(kc, k - pc)
                // Later depth blocks accumulate onto what the first one wrote.
                let betaNow: Float = pc == 0 ? beta : 1
                packB(b, ldb: ldb, transB: transB, k0: pc, kc: kcur, j0: jc, nc: ncur, into: bPack)
                for ic in stride(from: rows.lowerBound, to: rows.upperBound, by: mc) {
                    let mcur = min(mc, rows.upperBound - ic)
                    let aPanels = (mcur + mr - 1) / mr
                    // Aᵀ is packed too: read in place, its kc rows lie lda apart, a stride that is a
                    // multiple of 4 KiB on the model shapes, so they can crowd a few cache sets
                    // (our reading of the TN path's half speed on Intel); packed, it is contiguous.
                    packA(a, lda: lda, transA: transA, i0: ic, mc: mcur, k0: pc, kc: kcur, into: aPack)
                    for jp in 0..<bPanels {
                        let j = jc + jp * nr, width = min(nr, ncur - jp * nr)
                        let bPanel = UnsafePointer(bPack + jp * kcur * nr)
                        for ip in 0..<aPanels {
                            let i = ic + ip * mr, height = min(mr, mcur - ip * mr)
                            let packed = UnsafePointer(aPack + ip * kcur * mr)
                            if width == nr && height == mr {
                                microKernel(kcur, packed, 1, mr, bPanel, c + i * ldc + j, ldc, alpha, betaNow)
                            } else {
                                // Edge tile: compute the padded tile aside, copy the valid part.
                                edgeKernel(kcur, packed, 1, mr, bPanel, tile)
                                for r in 0..<height {
                                    let dst = c + (i + r) * ldc + j, src = tile + r * nr
                                    if betaNow == 0 {
                                        for q in 0..<width { dst[q] = alpha * src[q] }
                                    } else {
                                        for q in 0..<width { dst[q] = alpha * src[q] + betaNow * dst[q] }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A small free list of 64-byte-aligned packing buffers, so repeated GEMMs do not pay for
/// fresh pages (a 2 MiB buffer is ~500 page faults) on every call.
struct GemmScratch {
    let pointer: UnsafeMutablePointer<Float>
    let floats: Int

    private static let cache = Mutex<[(UInt, Int)]>([])
    private static let cacheLimit = 8

    static func take(floats: Int) -> GemmScratch {
        let found: (UInt, Int)? = cache.withLock { list in
            guard let index = list.firstIndex(where: { $0.1 >= floats }) else { return nil }
            return list.remove(at: index)
        }
        if let (address, size) = found {
            return GemmScratch(pointer: UnsafeMutablePointer(bitPattern: address)!, floats: size)
        }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * 4, alignment: 64)
        return GemmScratch(pointer: raw.bindMemory(to: Float.self, capacity: floats), floats: floats)
    }

    static func give(_ scratch: GemmScratch) {
        let evicted: UInt? = cache.withLock { list in
            list.append((UInt(bitPattern: scratch.pointer), scratch.floats))
            // Keep the largest buffers: any request fits in them.
            guard list.count > cacheLimit else { return nil }
            let smallest = list.indices.min(by: { list[$0].1 < list[$1].1 })!
            return list.remove(at: smallest).0
        }
        if let evicted { UnsafeMutableRawPointer(bitPattern: evicted)!.deallocate() }
    }
}
