// ThreadPool: fork-join parallelism for kernels. Callers split work into a few large
// chunks (GEMM blocks, heads, row ranges), never per element.
import Foundation

public final class ThreadPool: @unchecked Sendable {
    public static let shared = ThreadPool(threadCount: ThreadPool.defaultThreadCount())

    public let threadCount: Int

    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
    }

    /// `RLHF_THREADS` if set, else the number of active processors.
    public static func defaultThreadCount() -> Int {
        if let s = ProcessInfo.processInfo.environment["RLHF_THREADS"], let n = Int(s), n > 0 { return n }
        return ProcessInfo.processInfo.activeProcessorCount
    }

    /// Runs body(0..<n) across the pool and returns when all are done.
    public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 || threadCount == 1 {
            for i in 0..<n { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: n) { box.value($0) }
        }
    }
}

/// Kernel closures capture raw pointers, which are not `Sendable`; the fork-join contract
/// (the caller waits for every chunk) is what makes sharing them safe.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
