// ThreadPool.parallelFor: every index runs exactly once, with more chunks than threads,
// from several threads at once, re-entrantly from inside a body, and GEMMs racing on one pool.
// Leaves out: fork-join latency and idle CPU use (measured, not asserted).
import Foundation
import Synchronization
import Testing
import TensorCore

@Suite struct ThreadPoolTests {
    /// Counts how often each index ran; every count must be exactly one.
    static func runOnce(_ pool: ThreadPool, _ n: Int) -> [Int] {
        let counts = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: max(1, n))
        for i in 0..<n { (counts + i).initialize(to: Atomic(0)) }
        defer { counts.deinitialize(count: n); counts.deallocate() }
        let shared = UncheckedSendable(counts)
        pool.parallelFor(n) { i in shared.value[i].add(1, ordering: .relaxed) }
        return (0..<n).map { counts[$0].load(ordering: .relaxed) }
    }

    @Test func everyIndexOnceForManySizes() {
        let pool = ThreadPool(threadCount: 3)
        for n in [0, 1, 2, 3, 5, 64, 1000] {
            for _ in 0..<20 {
                let counts = Self.runOnce(pool, n)
                #expect(counts == [Int](repeating: 1, count: n), "n=\(n)")
            }
        }
    }

    /// Several threads hammer one pool at once; losers of the race run their chunks inline.
    @Test func concurrentCallers() {
        let pool = ThreadPool(threadCount: 2)
        let failures = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 6) { caller in
            for round in 0..<200 {
                let n = 1 + (caller * 7 + round) % 13
                if Self.runOnce(pool, n) != [Int](repeating: 1, count: n) { failures.add(1, ordering: .relaxed) }
            }
        }
        #expect(failures.load(ordering: .relaxed) == 0)
    }

    /// parallelFor inside a parallelFor body runs inline instead of deadlocking.
    @Test func nestedCallRunsInline() {
        let pool = ThreadPool(threadCount: 2)
        let total = Atomic<Int>(0)
        pool.parallelFor(4) { _ in
            pool.parallelFor(5) { _ in total.add(1, ordering: .relaxed) }
        }
        #expect(total.load(ordering: .relaxed) == 20)
    }

    /// Threaded GEMMs from several threads on the shared pool, one of them nested inside a
    /// pool task, all agreeing with the naive twin.
    @Test func concurrentAndNestedGemms() {
        let pool = ThreadPool(threadCount: 2)
        DispatchQueue.concurrentPerform(iterations: 3) { caller in
            for _ in 0..<3 {
                GemmTests.check(GemmTests.Case(m: 130, n: 150, k: 70 + caller, transB: caller == 1), pool: pool)
            }
        }
        pool.parallelFor(2) { i in
            GemmTests.check(GemmTests.Case(m: 100, n: 120, k: 90, transA: i == 0), pool: pool)
        }
    }
}
