// OpenBLAS loaded at run time (dlopen), only as a speed anchor for `rlhf-bench core`: the
// package never links it, so machines without it still build and test.
// Leaves out: every BLAS routine except cblas_sgemm and the thread-count setter.
import Foundation

struct OpenBLAS {
    typealias SgemmFunction = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
        UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias SetThreadsFunction = @convention(c) (Int32) -> Void
    typealias CoreNameFunction = @convention(c) () -> UnsafePointer<CChar>?

    let sgemm: SgemmFunction
    let setThreads: SetThreadsFunction
    /// The kernel family OpenBLAS actually picked ("Cooperlake", "Haswell", ...).
    let coreName: String
    /// What we asked for through OPENBLAS_CORETYPE, and what the environment had before.
    let requestedCore: String?
    let previousCore: String?

    /// The best OpenBLAS kernel family for this CPU, from /proc/cpuinfo flags. OpenBLAS's
    /// own detection (and some environments) settle for Haswell on AVX-512 AMD parts, which
    /// halves its speed (PERF-NOTES).
    static func bestCoreType() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if flags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) {
            return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if flags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// Sets OPENBLAS_CORETYPE (read once, when the library loads) and loads the library;
    /// nil when it is not installed.
    static func load() -> OpenBLAS? {
        let previous = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"]
        let requested = bestCoreType()
        if let requested { setenv("OPENBLAS_CORETYPE", requested, 1) }
        guard let handle = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL),
              let sgemm = dlsym(handle, "cblas_sgemm"),
              let setThreads = dlsym(handle, "openblas_set_num_threads")
        else { return nil }
        var coreName = "unknown"
        if let symbol = dlsym(handle, "openblas_get_corename"),
           let name = unsafeBitCast(symbol, to: CoreNameFunction.self)() {
            coreName = String(cString: name)
        }
        return OpenBLAS(sgemm: unsafeBitCast(sgemm, to: SgemmFunction.self),
                        setThreads: unsafeBitCast(setThreads, to: SetThreadsFunction.self),
                        coreName: coreName, requestedCore: requested, previousCore: previous)
    }

    /// Same contract as Gemm.multiply (row-major, beta == 0 ignores C).
    func multiply(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, transA: Bool,
                  b: UnsafePointer<Float>, ldb: Int, transB: Bool,
                  c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float = 1, beta: Float = 0) {
        let rowMajor: Int32 = 101, noTrans: Int32 = 111, trans: Int32 = 112
        sgemm(rowMajor, transA ? trans : noTrans, transB ? trans : noTrans, Int32(m), Int32(n), Int32(k),
              alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}
