// bf16 mixed-precision GEMM: op(A) and op(B) are rounded to bfloat16 while packed (k-pairs
// interleaved, the layout `vdpbf16ps` multiplies); products accumulate in fp32, C stays fp32.
// Blocking mirrors Gemm+Packed.swift; packing and micro-kernel are C (Sources/CKernels), chosen
// by CPUID. Leaves out: an AMX (`tdpbf16ps`) kernel (none verified yet, so AMX is only
// reported) and a cache of packed frozen weights (each call re-packs B).
import CKernels

extension Gemm {
    /// The bf16 kernels this build has. An AMX kernel would be one more case here and one more
    /// arm in `multiplyBF16`.
    public enum BF16Kernel: String, Sendable, CaseIterable {
        /// AVX-512 BF16 dot products (`vdpbf16ps`): Intel Cooper Lake and later, AMD Zen 4/5.
        case avx512bf16 = "avx512_bf16"
        /// No bf16 instructions: the fp32 GEMM runs instead.
        case fp32 = "fp32 fallback"
    }

    /// What CPUID says about AMX tiles. No build so far carries an AMX kernel.
    public enum AMXSupport: String, Sendable {
        case absent = "absent"
        case presentNoKernel = "present but no kernel in this build"
    }

    /// The bf16 kernel chosen for this CPU (detected once).
    public static let bf16Kernel: BF16Kernel = rlhf_cpu_has_avx512bf16() != 0 ? .avx512bf16 : .fp32

    /// Whether this CPU has AMX-BF16 tiles.
    public static let amxSupport: AMXSupport = rlhf_cpu_has_amx_bf16() != 0 ? .presentNoKernel : .absent

    /// Depth of one packed block (elements, even): B panels of kc x 32 bf16 are 64 KiB.
    static let kcBlockBF16 = 1024
    /// Rows of A per block (144 x 1024 bf16 = 288 KiB stays in L2).
    static let mcBlockBF16 = 144
    /// Width of the packed B block (1024 x 1024 bf16 = 2 MiB).
    static let ncBlockBF16 = 1024

    /// `multiply` with bf16 operands and fp32 accumulation on the given kernel (`.fp32` runs the
    /// fp32 GEMM). Same contract as `multiply`; every m takes the packed path. Public so tests and
    /// rlhf-bench can pin a kernel; everyone else calls `multiply(..., precision: .bf16)`.
    public static func multiplyBF16(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0,
        kernel: BF16Kernel = Gemm.bf16Kernel,
        pool: ThreadPool = .shared
    ) {
        guard m > 0 && n > 0 else { return }
        switch kernel {
        case .fp32:
            multiply(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                     c: c, ldc: ldc, alpha: alpha, beta: beta, precision: .fp32, pool: pool)
            return
        case .avx512bf16:
            // A request for this kernel on a CPU without it would fault: run fp32 instead.
            guard bf16Kernel == .avx512bf16, k > 0 else {
                multiply(m: m, n: n, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                         c: c, ldc: ldc, alpha: alpha, beta: beta, precision: .fp32, pool: pool)
                return
            }
        }
        let operands = UncheckedSendable((a, b, c))
        splitOverPool(m: m, n: n, k: k, mr: Int(RLHF_BF16_MR), nr: Int(RLHF_BF16_NR), pool: pool) { rows, cols in
            let (a, b, c) = operands.value
            bf16Block(rows: rows, cols: cols, k: k, a: a, lda: lda, transA: transA, b: b, ldb: ldb, transB: transB,
                      c: c, ldc: ldc, alpha: alpha, beta: beta)
        }
    }

    /// Bytes `packBF16` writes for a k x n op(B).
    public static func packedBF16Bytes(k: Int, n: Int) -> Int {
        (k + 1) / 2 * ((n + RLHF_BF16_NR - 1) / RLHF_BF16_NR * RLHF_BF16_NR) * 4
    }

    /// Packs op(B) (k x n) into bf16 panels as the bf16 GEMM does, on this thread, into `dst`
    /// (`packedBF16Bytes` bytes, 64-byte aligned). Exposed so rlhf-bench can time the packing
    /// that every call repeats; the GEMM itself packs block by block.
    public static func packBF16(k: Int, n: Int, b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                                into dst: UnsafeMutableRawPointer) {
        guard bf16Kernel == .avx512bf16 else { return }
        let nr = RLHF_BF16_NR, kp = (k + 1) / 2
        for j in stride(from: 0, to: n, by: nr) {
            let src = transB ? b + j * ldb : b + j
            rlhf_bf16_pack(src, ldb, transB ? 1 : 0, min(nr, n - j), k, dst + 4 * (j / nr) * kp * nr, nr)
        }
    }

    /// C[rows, cols] on one thread with its own packing buffers (32-bit words, one bf16 pair each).
    private static func bf16Block(
        rows: Range<Int>, cols: Range<Int>, k: Int,
        a: UnsafePointer<Float>, lda: Int, transA: Bool,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool,
        c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
    ) {
        let mr = RLHF_BF16_MR, nr = RLHF_BF16_NR
        let depthBlocks = (k + kcBlockBF16 - 1) / kcBlockBF16
        var kc = (k + depthBlocks - 1) / depthBlocks
        kc += kc & 1  // every block but the last starts on an even depth: pairs never straddle
        let nc = min(ncBlockBF16, (cols.count + nr - 1) / nr * nr)
        let mc = min(mcBlockBF16, (rows.count + mr - 1) / mr * mr)
        let kpMax = kc / 2
        let bWords = kpMax * nc, aWords = kpMax * mc
        let scratch = GemmScratch.take(floats: bWords + aWords)
        defer { GemmScratch.give(scratch) }
        // The words are opaque to Swift (only C reads them), so the Float-bound buffer is passed raw.
        let bPack = UnsafeMutableRawPointer(scratch.pointer), aPack = bPack + 4 * bWords

        for jc in stride(from: cols.lowerBound, to: cols.upperBound, by: nc) {
            let ncur = min(nc, cols.upperBound - jc)
            let bPanels = (ncur + nr - 1) / nr
            for pc in stride(from: 0, to: k, by: kc) {
                let kcur = min(kc, k - pc), kp = (kcur + 1) / 2
                // Later depth blocks accumulate onto what the first one wrote.
                let betaNow: Float = pc == 0 ? beta : 1
                for jp in 0..<bPanels {
                    let j = jc + jp * nr, width = min(nr, ncur - jp * nr)
                    // op(B)[p][j] is B[j][p] (runs along depth) when transposed, else B[p][j].
                    let src = transB ? b + j * ldb + pc : b + pc * ldb + j
                    rlhf_bf16_pack(src, ldb, transB ? 1 : 0, width, kcur, bPack + 4 * jp * kp * nr, nr)
                }
                for ic in stride(from: rows.lowerBound, to: rows.upperBound, by: mc) {
                    let mcur = min(mc, rows.upperBound - ic)
                    let aPanels = (mcur + mr - 1) / mr
                    for ip in 0..<aPanels {
                        let i = ic + ip * mr, height = min(mr, mcur - ip * mr)
                        // op(A)[i][p] is A[i][p] (runs along depth), or A[p][i] when transposed.
                        let src = transA ? a + pc * lda + i : a + i * lda + pc
                        rlhf_bf16_pack(src, lda, transA ? 0 : 1, height, kcur, aPack + 4 * ip * kp * mr, mr)
                    }
                    for jp in 0..<bPanels {
                        let j = jc + jp * nr, width = min(nr, ncur - jp * nr)
                        let bPanel = UnsafeRawPointer(bPack + 4 * jp * kp * nr)
                        for ip in 0..<aPanels {
                            let i = ic + ip * mr, height = min(mr, mcur - ip * mr)
                            rlhf_bf16_kernel_12x32(kp, UnsafeRawPointer(aPack + 4 * ip * kp * mr), bPanel,
                                                   c + i * ldc + j, ldc, alpha, betaNow, height, width)
                        }
                    }
                }
            }
        }
    }
}
