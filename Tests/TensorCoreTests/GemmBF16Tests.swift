// The bf16 GEMM (Gemm+BF16.swift, Sources/CKernels) against the fp32 naive twin: random
// never-zero inputs over many shapes (ragged edges, several depth blocks, padded leading
// dimensions, all four transpositions), exact results on bf16-representable inputs, fp32 mode
// bit-identical to the fp32 GEMM, and `linear`'s forward and backward following Precision.
// Leaves out: speed (rlhf-bench gemm --precision bf16) and the AMX kernel (none in this build).
import Foundation
import Testing
import TensorCore

@Suite struct GemmBF16Tests {
    static let hasKernel = Gemm.bf16Kernel == .avx512bf16
    static let noKernelReason: Comment = "this CPU has no avx512_bf16: the bf16 path runs fp32 (fp32 fallback)"

    /// Deterministic values in ±[0.25, 1.25) (never zero, mixed signs) from a 64-bit LCG.
    static func values(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1442695040888963407
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let u = Float(state >> 40) / Float(1 << 24)          // [0, 1)
            return (state >> 39) & 1 == 0 ? 0.25 + u : -0.25 - u
        }
    }

    /// Non-zero integers in [-8, 8]: exact in bf16, and every sum below stays exact in fp32.
    static func smallIntegers(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 7
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let v = Float((state >> 33) % 8 + 1)
            return (state >> 40) & 1 == 0 ? v : -v
        }
    }

    struct Case: CustomStringConvertible {
        var m: Int, n: Int, k: Int
        var transA = false, transB = false
        var pad = 0
        var alpha: Float = 1, beta: Float = 0
        var description: String {
            "m=\(m) n=\(n) k=\(k) \(transA ? "T" : "N")\(transB ? "T" : "N") pad=\(pad) alpha=\(alpha) beta=\(beta)"
        }
        var aRows: Int { transA ? k : m }
        var aCols: Int { transA ? m : k }
        var bRows: Int { transB ? n : k }
        var bCols: Int { transB ? k : n }
        var lda: Int { aCols + pad }
        var ldb: Int { bCols + pad }
        var ldc: Int { n + pad }
    }

    /// Runs `kernel` and the naive twin (and the naive twin on |A|, |B| for the error scale).
    static func run(_ t: Case, a: [Float], b: [Float], c0: [Float], kernel: Gemm.BF16Kernel)
        -> (fast: [Float], naive: [Float], scale: [Float]) {
        var fast = c0, naive = c0
        Gemm.multiplyBF16(m: t.m, n: t.n, k: t.k, a: a, lda: t.lda, transA: t.transA, b: b, ldb: t.ldb, transB: t.transB,
                          c: &fast, ldc: t.ldc, alpha: t.alpha, beta: t.beta, kernel: kernel)
        Gemm.multiplyNaive(m: t.m, n: t.n, k: t.k, a: a, lda: t.lda, transA: t.transA, b: b, ldb: t.ldb,
                           transB: t.transB, c: &naive, ldc: t.ldc, alpha: t.alpha, beta: t.beta)
        var scale = [Float](repeating: 0, count: c0.count)
        Gemm.multiplyNaive(m: t.m, n: t.n, k: t.k, a: a.map(abs), lda: t.lda, transA: t.transA, b: b.map(abs), ldb: t.ldb,
                           transB: t.transB, c: &scale, ldc: t.ldc)
        return (fast, naive, scale)
    }

    /// bf16 rounds each operand by at most 2^-9 relative, so |fast - naive| <= ~4e-3 sum|a||b|;
    /// the test allows 1e-2 (the issue's bound). Returns the largest error relative to that scale.
    @discardableResult
    static func checkBF16(_ t: Case, kernel: Gemm.BF16Kernel = .avx512bf16) -> Float {
        let a = values(max(1, t.aRows * t.lda), seed: UInt64(t.m * 31 + t.k))
        let b = values(max(1, t.bRows * t.ldb), seed: UInt64(t.n * 17 + t.k + 5))
        // beta == 0 must not read C: NaN there would poison the result.
        let c0 = t.beta == 0 ? [Float](repeating: .nan, count: max(1, t.m * t.ldc)) : values(max(1, t.m * t.ldc), seed: 99)
        let (fast, naive, scale) = run(t, a: a, b: b, c0: c0, kernel: kernel)
        var worst: Float = 0, worstAt = 0, firstBad: Int? = nil
        for i in 0..<t.m {
            for j in 0..<t.ldc {
                let index = i * t.ldc + j
                if j >= t.n {  // padding columns belong to someone else
                    if !(fast[index].bitPattern == c0[index].bitPattern) && firstBad == nil { firstBad = index }
                    continue
                }
                let bound = abs(t.alpha) * scale[index] + 1e-6
                let relative = abs(fast[index] - naive[index]) / bound
                if !(relative <= 1e-2) && firstBad == nil { firstBad = index }
                if !(relative <= worst) { worst = relative; worstAt = index }
            }
        }
        if let bad = firstBad {
            Issue.record("""
                \(t): first bad C[\(bad / t.ldc), \(bad % t.ldc)] bf16=\(fast[bad]) naive=\(naive[bad]) \
                sum|a||b|=\(scale[bad]); worst relative error \(worst) at C[\(worstAt / t.ldc), \(worstAt % t.ldc)]
                """)
        }
        return worst
    }

    static let transpositions = [(false, false), (false, true), (true, false), (true, true)]

    @Test(.enabled(if: hasKernel, noKernelReason), arguments: [1, 2, 3, 12, 13, 31, 33, 65])
    func raggedShapesAllTranspositions(size: Int) {
        for (ta, tb) in Self.transpositions {
            for (m, n, k) in [(25, size, size), (size + 25, 37, 19), (29, size, 70), (size + 40, 2 * size + 3, size)] {
                Self.checkBF16(Case(m: m, n: n, k: k, transA: ta, transB: tb))
            }
        }
    }

    /// Several depth blocks (k > 1024, odd), several M and N blocks, threads, padding, alpha/beta.
    @Test(.enabled(if: hasKernel, noKernelReason))
    func blockEdgesAllTranspositions() {
        for (ta, tb) in Self.transpositions {
            let worst = Self.checkBF16(Case(m: 157, n: 1100, k: 2049, transA: ta, transB: tb, pad: 3))
            // The path really rounds to bf16 (an fp32 GEMM would stay near 1e-7 of the scale).
            #expect(worst > 1e-5, "bf16 path left no rounding error: did it run fp32?")
            Self.checkBF16(Case(m: 300, n: 45, k: 333, transA: ta, transB: tb, pad: 1, alpha: -0.5, beta: 0.75))
            Self.checkBF16(Case(m: 26, n: 2085, k: 260, transA: ta, transB: tb, alpha: 2, beta: 1))
        }
    }

    /// Integer inputs are exact in bf16 and their products sum exactly in fp32, so the bf16
    /// GEMM must equal the naive one bit for bit: any pairing or packing slip shows.
    @Test(.enabled(if: hasKernel, noKernelReason))
    func exactOnBF16RepresentableInputs() {
        for (ta, tb) in Self.transpositions {
            for (m, n, k, beta) in [(25, 33, 1, Float(0)), (37, 31, 2, 0), (48, 64, 33, 1), (130, 97, 1031, 0), (61, 300, 64, -1)] {
                let t = Case(m: m, n: n, k: k, transA: ta, transB: tb, pad: 2, beta: beta)
                let a = Self.smallIntegers(t.aRows * t.lda, seed: UInt64(m + k))
                let b = Self.smallIntegers(t.bRows * t.ldb, seed: UInt64(n + 3 * k))
                let c0 = Self.smallIntegers(t.m * t.ldc, seed: 5)
                let (fast, naive, _) = Self.run(t, a: a, b: b, c0: c0, kernel: .avx512bf16)
                if let bad = fast.indices.first(where: { fast[$0] != naive[$0] }) {
                    Issue.record("\(t): C[\(bad / t.ldc), \(bad % t.ldc)] bf16=\(fast[bad]) naive=\(naive[bad])")
                }
            }
        }
    }

    /// fp32 precision is the fp32 GEMM unchanged, and so is the fp32 fallback kernel and a bf16
    /// request for few rows (m <= 24 stays on the memory-bound fp32 small-M path).
    @Test func fp32ModeIsBitIdentical() {
        for (ta, tb) in Self.transpositions {
            for (m, n, k) in [(200, 70, 300), (24, 100, 50), (3, 5, 7)] {
                let t = Case(m: m, n: n, k: k, transA: ta, transB: tb)
                let a = Self.values(t.aRows * t.lda, seed: 1), b = Self.values(t.bRows * t.ldb, seed: 2)
                var plain = [Float](repeating: 0, count: m * n), fp32 = plain, fallback = plain, requested = plain
                Gemm.multiply(m: m, n: n, k: k, a: a, lda: t.lda, transA: ta, b: b, ldb: t.ldb, transB: tb, c: &plain, ldc: n)
                Gemm.multiply(m: m, n: n, k: k, a: a, lda: t.lda, transA: ta, b: b, ldb: t.ldb, transB: tb, c: &fp32, ldc: n,
                              precision: .fp32)
                Gemm.multiplyBF16(m: m, n: n, k: k, a: a, lda: t.lda, transA: ta, b: b, ldb: t.ldb, transB: tb,
                                  c: &fallback, ldc: n, kernel: .fp32)
                Gemm.multiply(m: m, n: n, k: k, a: a, lda: t.lda, transA: ta, b: b, ldb: t.ldb, transB: tb, c: &requested,
                              ldc: n, precision: .bf16)
                #expect(fp32.map(\.bitPattern) == plain.map(\.bitPattern), "\(t): precision fp32")
                #expect(fallback.map(\.bitPattern) == plain.map(\.bitPattern), "\(t): fp32 fallback kernel")
                if m <= 24 || !Self.hasKernel {
                    #expect(requested.map(\.bitPattern) == plain.map(\.bitPattern), "\(t): bf16 request on the fp32 path")
                } else {
                    #expect(requested.map(\.bitPattern) != plain.map(\.bitPattern), "\(t): bf16 request ran fp32")
                }
            }
        }
    }

    /// A CPU without a bf16 kernel runs bf16 requests in fp32 and the note says so; elsewhere no note.
    @Test func fallbackIsReported() {
        #expect(Precision.bf16.effective(kernel: .fp32) == .fp32)
        #expect(Precision.bf16.fallbackNote(kernel: .fp32)?.contains("matrix products run in fp32") == true)
        #expect(Precision.bf16.effective(kernel: .avx512bf16) == .bf16)
        #expect(Precision.bf16.fallbackNote(kernel: .avx512bf16) == nil)
        #expect(Precision.fp32.fallbackNote(kernel: .fp32) == nil && Precision.fp32.effective(kernel: .avx512bf16) == .fp32)
    }

    /// The CPUID checks agree with the features Linux enabled (/proc/cpuinfo flags, which the
    /// kernel clears when the OS does not save the register state): the bf16 kernel is chosen
    /// exactly when avx512_bf16 is listed, and AMX is reported present exactly when amx_bf16 is.
    /// (This build has no AMX kernel: AMX is detected and reported, never used.)
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/cpuinfo"), "no /proc/cpuinfo (not Linux)"))
    func kernelChoiceAndAMXReportFollowTheCPUFlags() throws {
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        guard let line = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else {
            Issue.record("/proc/cpuinfo has no flags line"); return
        }
        let flags = Set(line.split(separator: ":").last!.split(separator: " ").map(String.init))
        #expect((Gemm.bf16Kernel == .avx512bf16) == flags.contains("avx512_bf16"), "kernel \(Gemm.bf16Kernel.rawValue)")
        #expect((Gemm.amxSupport == .presentNoKernel) == flags.contains("amx_bf16"), "AMX \(Gemm.amxSupport.rawValue)")
    }

    /// `linear` reads Precision.current forward and its backward keeps it, even when
    /// `backward` runs outside the scope: y, dX and dW equal the bf16 GEMMs bit for bit.
    @Test(.enabled(if: hasKernel, noKernelReason))
    func linearFollowsPrecisionForwardAndBackward() throws {
        let (rows, inF, outF) = (40, 70, 36)
        let x = Variable(try Tensor(shape: [rows, inF], data: Self.values(rows * inF, seed: 3)), requiresGrad: true)
        let w = Variable(try Tensor(shape: [outF, inF], data: Self.values(outF * inF, seed: 4)), requiresGrad: true)
        let g = try Tensor(shape: [rows, outF], data: Self.values(rows * outF, seed: 6))
        let tape = Tape()
        let y = try Precision.bf16.run { try tape.record { try linear(x, weight: w) } }
        try tape.backward(y, seed: g)   // outside the bf16 scope

        let xs = x.value.scalars, ws = w.value.scalars, gs = g.scalars
        var yRef = [Float](repeating: 0, count: rows * outF), dx = [Float](repeating: 0, count: rows * inF)
        var dw = [Float](repeating: 0, count: outF * inF), dwFP32 = dw
        Gemm.multiplyBF16(m: rows, n: outF, k: inF, a: xs, lda: inF, transA: false, b: ws, ldb: inF, transB: true,
                          c: &yRef, ldc: outF)
        Gemm.multiplyBF16(m: rows, n: inF, k: outF, a: gs, lda: outF, transA: false, b: ws, ldb: inF, transB: false,
                          c: &dx, ldc: inF)
        Gemm.multiplyBF16(m: outF, n: inF, k: rows, a: gs, lda: outF, transA: true, b: xs, ldb: inF, transB: false,
                          c: &dw, ldc: inF)
        Gemm.multiply(m: outF, n: inF, k: rows, a: gs, lda: outF, transA: true, b: xs, ldb: inF, transB: false,
                      c: &dwFP32, ldc: inF)
        #expect(y.value.scalars.map(\.bitPattern) == yRef.map(\.bitPattern), "forward")
        #expect(x.grad?.scalars.map(\.bitPattern) == dx.map(\.bitPattern), "dX")
        #expect(w.grad?.scalars.map(\.bitPattern) == dw.map(\.bitPattern), "dW")
        #expect(dw.map(\.bitPattern) != dwFP32.map(\.bitPattern), "dW in bf16 should differ from fp32")
        #expect(Precision.current == .fp32, "the scope must not leak")
    }

    /// Same for `matmul` (batched, B shared): forward in bf16 inside the scope, fp32 outside.
    @Test(.enabled(if: hasKernel, noKernelReason))
    func matmulFollowsPrecision() throws {
        let a = Variable(try Tensor(shape: [2, 30, 40], data: Self.values(2 * 30 * 40, seed: 8)))
        let b = Variable(try Tensor(shape: [40, 50], data: Self.values(40 * 50, seed: 9)))
        let bf = try Precision.bf16.run { try matmul(a, b) }.value.scalars
        let fp = try matmul(a, b).value.scalars
        var ref = [Float](repeating: 0, count: 60 * 50)
        Gemm.multiplyBF16(m: 60, n: 50, k: 40, a: a.value.scalars, lda: 40, transA: false, b: b.value.scalars, ldb: 50,
                          transB: false, c: &ref, ldc: 50)
        #expect(bf.map(\.bitPattern) == ref.map(\.bitPattern))
        #expect(fp.map(\.bitPattern) != ref.map(\.bitPattern))
    }
}
