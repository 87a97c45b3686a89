// The fast GEMM path: Goto/BLIS-style blocking. op(B) is packed into kc x 32 panels and
// op(A) into kc x 12 panels (transposition is absorbed by the packing), then the 12 x 32
// micro-kernel sweeps them. Work is split over the pool by blocks of N (or of M when N is
// narrow). Leaves out: small M (Gemm+SmallM.swift) and the micro-kernel itself.
import Synchronization

extension Gemm {
    /// Depth of one packed block: a kc x 32 B panel (32 KiB at 256) stays in L1 while the
    /// A panels of one mc block (mc x kc, ~150 KiB) stream from L2.
    static let kcBlock = 256
    static let mcBlock = 144
    /// Width of the packed B block (kc x nc, 2 MiB), so a scratch buffer stays bounded.
    static let ncBlock = 2048
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

    /// C[rows, cols] on one thread, with its own packing buffers.
    static func packedBlock(
        rows: Range<Int>, cols: Range<Int>, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
    ) {
        let mr = microRows, nr = microCols
        let kc = min(kcBlock, k)
        let nc = min(ncBlock, (cols.count + nr - 1) / nr * nr)
        let mc = min(mcBlock, (rows.count + mr - 1) / mr * mr)
        let bFloats = kc * nc, aFloats = kc * mc, tileFloats = mr * nr
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
                    packA(a, lda: lda, transA: transA, i0: ic, mc: mcur, k0: pc, kc: kcur, into: aPack)
                    for jp in 0..<bPanels {
                        let j = jc + jp * nr, width = min(nr, ncur - jp * nr)
                        let bPanel = UnsafePointer(bPack + jp * kcur * nr)
                        for ip in 0..<aPanels {
                            let i = ic + ip * mr, height = min(mr, mcur - ip * mr)
                            let aPanel = UnsafePointer(aPack + ip * kcur * mr)
                            if width == nr && height == mr {
                                microKernel(kcur, aPanel, bPanel, c + i * ldc + j, ldc, alpha, betaNow)
                            } else {
                                // Edge tile: compute the padded tile aside, copy the valid part.
                                microKernel(kcur, aPanel, bPanel, tile, nr, 1, 0)
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

    /// Packs op(B)[k0..<k0+kc, j0..<j0+nc] as ceil(nc/32) panels, each kc rows of 32 floats
    /// (k-major), zero-padded on the right.
    static func packB(_ b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                      k0: Int, kc: Int, j0: Int, nc: Int, into dst: UnsafeMutablePointer<Float>) {
        let nr = microCols
        var panel = dst
        for jp in stride(from: 0, to: nc, by: nr) {
            let width = min(nr, nc - jp)
            if !transB && width == nr {
                for p in 0..<kc {
                    let src = UnsafeRawPointer(b + (k0 + p) * ldb + j0 + jp)
                    let out = UnsafeMutableRawPointer(panel + p * nr)
                    out.storeBytes(of: src.loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
                    out.storeBytes(of: src.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self),
                                   toByteOffset: 64, as: SIMD16<Float>.self)
                }
            } else if !transB {
                for p in 0..<kc {
                    let src = b + (k0 + p) * ldb + j0 + jp, out = panel + p * nr
                    for q in 0..<width { out[q] = src[q] }
                    for q in width..<nr { out[q] = 0 }
                }
            } else {
                // op(B)[p][j] = B[j][p]: each B row is a contiguous run along k.
                for q in 0..<width {
                    let src = b + (j0 + jp + q) * ldb + k0
                    for p in 0..<kc { panel[p * nr + q] = src[p] }
                }
                if width < nr {
                    for p in 0..<kc { for q in width..<nr { panel[p * nr + q] = 0 } }
                }
            }
            panel += kc * nr
        }
    }

    /// Packs op(A)[i0..<i0+mc, k0..<k0+kc] as ceil(mc/12) panels, each kc columns of 12
    /// floats (k-major), zero-padded at the bottom.
    static func packA(_ a: UnsafePointer<Float>, lda: Int, transA: Bool,
                      i0: Int, mc: Int, k0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
        let mr = microRows
        var panel = dst
        for ip in stride(from: 0, to: mc, by: mr) {
            let height = min(mr, mc - ip)
            if transA {
                // op(A)[i][p] = A[p][i]: 12 contiguous floats per k step.
                for p in 0..<kc {
                    let src = a + (k0 + p) * lda + i0 + ip, out = panel + p * mr
                    if height == mr {
                        for r in 0..<12 { out[r] = src[r] }
                    } else {
                        for r in 0..<height { out[r] = src[r] }
                        for r in height..<mr { out[r] = 0 }
                    }
                }
            } else {
                for r in 0..<height {
                    let src = a + (i0 + ip + r) * lda + k0
                    for p in 0..<kc { panel[p * mr + r] = src[p] }
                }
                if height < mr {
                    for p in 0..<kc { for r in height..<mr { panel[p * mr + r] = 0 } }
                }
            }
            panel += kc * mr
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
