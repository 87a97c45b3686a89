// The fast GEMM path: Goto/BLIS-style blocking. op(B) is packed into kc x 32 panels and A
// into kc x 12 ones (transpositions absorbed by the packing); Aᵀ is read in place by the
// 12 x 32 micro-kernel through strides, except a ragged last panel. Work is split over the pool
// by blocks of N (or of M when N is narrow). Leaves out: packing (Gemm+Packing.swift),
// small M (Gemm+SmallM.swift) and the micro-kernel itself.
import Synchronization

extension Gemm {
    /// Depth of one packed block, at most (k is split into equal blocks no deeper than this).
    /// Deep blocks won by ~10% over 256 (measured on Zen 4): fewer passes over C and longer
    /// streams; a kc x 32 B panel (128 KiB) then lives in L2, which the kernel's 2 vector
    /// loads per 24 FMAs do not mind.
    static let kcBlock = 1024
    /// Rows of A per block (the A block, mc x kc, stays in L2 while every B panel sweeps it).
    static let mcBlock = 144
    /// Width of the packed B block (kc x nc, 4 MiB), so a scratch buffer stays bounded.
    static let ncBlock = 1024
    /// Below this many multiply-adds a second thread costs more than it saves.
    static let parallelThreshold = 1 << 20

    static func multiplyPacked(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float, beta: Float, pool: ThreadPool
    ) {
        let mr = microRows, nr = microCols
        let threads = m * n * k >= parallelThreshold ? pool.threadCount : 1
        // Split N when each thread gets at least two panels, else M; tasks are whole panels.
        let splitN = n >= 2 * nr * threads || m < 2 * mr * threads
        let unit = splitN ? nr : mr
        let extent = splitN ? n : m
        let units = (extent + unit - 1) / unit
        let tasks = max(1, min(threads, units))
        let operands = UncheckedSendable((a, b, c))
        let block = { (task: Int) in
            let lo = units * task / tasks * unit
            let hi = min(extent, units * (task + 1) / tasks * unit)
            guard lo < hi else { return }
            let (a, b, c) = operands.value
            if splitN {
                packedBlock(rows: 0..<m, cols: lo..<hi, k: k, a: a, lda: lda, transA: transA,
                            b: b, ldb: ldb, transB: transB, c: c, ldc: ldc, alpha: alpha, beta: beta)
            } else {
                packedBlock(rows: lo..<hi, cols: 0..<n, k: k, a: a, lda: lda, transA: transA,
                            b: b, ldb: ldb, transB: transB, c: c, ldc: ldc, alpha: alpha, beta: beta)
            }
        }
        if tasks == 1 { block(0) } else { pool.parallelFor(tasks, block) }
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
        c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
    ) {
        let mr = microRows, nr = microCols
        let kc = (k + (k + kcBlock - 1) / kcBlock - 1) / ((k + kcBlock - 1) / kcBlock)
        let nc = min(ncBlock, (cols.count + nr - 1) / nr * nr)
        let mc = min(mcBlock, (rows.count + mr - 1) / mr * mr)
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
                    // Aᵀ panels are read in place (12 consecutive floats per k step: as good as
                    // packed, measured); A is packed, as read in place its 12 row streams made
                    // the compiler spill accumulators. A ragged last panel is always packed.
                    let ragged = mcur % mr
                    if !transA {
                        packA(a, lda: lda, transA: false, i0: ic, mc: mcur, k0: pc, kc: kcur, into: aPack)
                    } else if ragged != 0 {
                        packA(a, lda: lda, transA: true, i0: ic + mcur - ragged, mc: ragged, k0: pc, kc: kcur,
                              into: aPack + (aPanels - 1) * kcur * mr)
                    }
                    for jp in 0..<bPanels {
                        let j = jc + jp * nr, width = min(nr, ncur - jp * nr)
                        let bPanel = UnsafePointer(bPack + jp * kcur * nr)
                        for ip in 0..<aPanels {
                            let i = ic + ip * mr, height = min(mr, mcur - ip * mr)
                            let packed = UnsafePointer(aPack + ip * kcur * mr)
                            if width == nr && height == mr {
                                if transA {
                                    microKernel(kcur, a + pc * lda + i, 1, lda, bPanel, c + i * ldc + j, ldc,
                                                alpha, betaNow)
                                } else {
                                    microKernel(kcur, packed, 1, mr, bPanel, c + i * ldc + j, ldc, alpha, betaNow)
                                }
                            } else {
                                // Edge tile: compute the padded tile aside, copy the valid part.
                                if transA && height == mr {
                                    edgeKernel(kcur, a + pc * lda + i, 1, lda, bPanel, tile)
                                } else {
                                    edgeKernel(kcur, packed, 1, mr, bPanel, tile)
                                }
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
