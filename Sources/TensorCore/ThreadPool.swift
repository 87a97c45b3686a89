// ThreadPool: persistent fork-join workers for kernels. Callers split work into a few large
// chunks (GEMM blocks, heads, row ranges), never per element. Workers spin ~0.3 ms after a
// job, then sleep on a condition variable, so an idle pool burns no CPU.
// Leaves out: priorities, futures, async/await (a fork-join here costs ~0.1 us; a Task ~30 us).
import Foundation
import Synchronization

public final class ThreadPool: @unchecked Sendable {
    public static let shared = ThreadPool(threadCount: ThreadPool.defaultThreadCount())

    public let threadCount: Int
    private let state: PoolState

    /// Starts `threadCount - 1` workers; the calling thread is always the last one.
    public init(threadCount: Int) {
        self.threadCount = max(1, threadCount)
        state = PoolState()
        for _ in 1..<self.threadCount {
            let state = state
            let thread = Thread { state.workerLoop() }
            thread.name = "rlhf-pool"
            thread.start()
        }
    }

    deinit { state.shutdown() }

    /// `RLHF_THREADS` if set, else the active processors shared among the MPI ranks on this machine.
    public static func defaultThreadCount() -> Int {
        defaultThreadCount(environment: ProcessInfo.processInfo.environment, cores: ProcessInfo.processInfo.activeProcessorCount)
    }

    /// `RLHF_THREADS` if set (> 0); else `cores / OMPI_COMM_WORLD_LOCAL_SIZE` (Open MPI's count of
    /// ranks on this machine, set by `mpirun`), at least 1: N ranks with all cores each would
    /// oversubscribe the machine N times over. Outside `mpirun` the local size is 1.
    public static func defaultThreadCount(environment: [String: String], cores: Int) -> Int {
        if let s = environment["RLHF_THREADS"], let n = Int(s), n > 0 { return n }
        let local = environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) }.map { max(1, $0) } ?? 1
        return max(1, cores / local)
    }

    /// Runs body(0..<n) across the pool and returns when all are done. Chunks are claimed
    /// dynamically, so n may exceed threadCount. If the pool is already running a job
    /// (another thread's, or ours when called from inside a body), the chunks run inline
    /// on the calling thread: never a deadlock, at worst no speed-up.
    public func parallelFor(_ n: Int, _ body: (Int) -> Void) {
        if n <= 1 || threadCount == 1 || !state.tryAcquire() {
            for i in 0..<n { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            var job = Job(body: body)
            withUnsafeMutablePointer(to: &job) { state.run(n, UnsafeMutableRawPointer($0)) }
        }
        state.release()
    }
}

/// What a worker needs to run one chunk; lives on the submitting thread's stack for the
/// duration of `parallelFor`.
private struct Job {
    let body: (Int) -> Void
}

/// Shared between the pool object and its workers (the workers must not keep the pool
/// alive, or it could never be deinitialised).
///
/// Protocol: `ticket` packs (generation << 32 | next chunk index). A job is published by
/// storing its fields, then `ticket = (g, 0)`. Workers claim chunk i by CAS (g, i) -> (g, i+1),
/// so a worker that read a stale generation can never claim a chunk of a newer job. When all
/// chunks are done the submitter stores (g, closed) before the next job's fields change;
/// a successful CAS therefore proves the fields it read belong to generation g.
private final class PoolState: @unchecked Sendable {
    static let closed: UInt64 = 0xFFFF_FFFF
    /// How long a worker polls for the next job before sleeping (~0.3 ms).
    static let spinNanoseconds: UInt64 = 300_000

    let busy = Atomic<Bool>(false)
    let ticket = Atomic<UInt64>(closed)
    let jobCount = Atomic<Int>(0)
    let jobPointer = Atomic<UInt>(0)
    let finished = Atomic<Int>(0)
    let sleepers = Atomic<Int>(0)
    let stopping = Atomic<Bool>(false)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    // Workers retain this object forever if they never stop; shutdown() lets them exit.
    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        condition.deallocate()
    }

    func tryAcquire() -> Bool {
        busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    }

    func release() { busy.store(false, ordering: .releasing) }

    /// Publishes the job, runs chunks alongside the workers, waits for the stragglers.
    func run(_ n: Int, _ job: UnsafeMutableRawPointer) {
        let generation = (ticket.load(ordering: .sequentiallyConsistent) >> 32) &+ 1
        finished.store(0, ordering: .sequentiallyConsistent)
        jobCount.store(n, ordering: .sequentiallyConsistent)
        jobPointer.store(UInt(bitPattern: job), ordering: .sequentiallyConsistent)
        ticket.store((generation & 0xFFFF_FFFF) << 32, ordering: .sequentiallyConsistent)
        if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
            pthread_mutex_lock(mutex)
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        drain(generation: generation & 0xFFFF_FFFF)
        var spins = 0
        while finished.load(ordering: .acquiring) < n {
            spins += 1
            if spins & 1023 == 0 { sched_yield() }
        }
        ticket.store(((generation & 0xFFFF_FFFF) << 32) | Self.closed, ordering: .sequentiallyConsistent)
    }

    /// Claims and runs chunks of generation `generation` until none are left.
    func drain(generation: UInt64) {
        while true {
            let t = ticket.load(ordering: .sequentiallyConsistent)
            guard t >> 32 == generation else { return }
            let index = t & 0xFFFF_FFFF
            let n = jobCount.load(ordering: .sequentiallyConsistent)
            let pointer = jobPointer.load(ordering: .sequentiallyConsistent)
            guard index < UInt64(n) else { return }
            guard ticket.compareExchange(expected: t, desired: t + 1, ordering: .sequentiallyConsistent).exchanged
            else { continue }
            let job = UnsafeRawPointer(bitPattern: pointer)!.assumingMemoryBound(to: Job.self)
            job.pointee.body(Int(index))
            finished.add(1, ordering: .releasing)
        }
    }

    func workerLoop() {
        var seen = ticket.load(ordering: .sequentiallyConsistent) >> 32
        while !stopping.load(ordering: .relaxed) {
            // 1. Poll for a new generation for a short while: back-to-back kernels pay ~0.1 us.
            var start: UInt64 = 0
            var spins = 0
            var current = ticket.load(ordering: .sequentiallyConsistent) >> 32
            while current == seen {
                spins += 1
                if spins & 255 == 0 {
                    let now = Self.nanoseconds()
                    if start == 0 { start = now } else if now - start > Self.spinNanoseconds { break }
                    if stopping.load(ordering: .relaxed) { return }
                }
                current = ticket.load(ordering: .sequentiallyConsistent) >> 32
            }
            // 2. Nothing came: sleep until a submitter broadcasts. The generation is re-read
            //    under the mutex after announcing ourselves, so no wake-up is lost.
            if current == seen {
                pthread_mutex_lock(mutex)
                sleepers.add(1, ordering: .sequentiallyConsistent)
                while ticket.load(ordering: .sequentiallyConsistent) >> 32 == seen
                        && !stopping.load(ordering: .sequentiallyConsistent) {
                    pthread_cond_wait(condition, mutex)
                }
                sleepers.subtract(1, ordering: .sequentiallyConsistent)
                pthread_mutex_unlock(mutex)
                if stopping.load(ordering: .relaxed) { return }
                current = ticket.load(ordering: .sequentiallyConsistent) >> 32
            }
            // 3. Help with whatever generation is current (it may already be closed).
            seen = current
            drain(generation: current)
        }
    }

    func shutdown() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// Kernel closures capture raw pointers, which are not `Sendable`; the fork-join contract
/// (the caller waits for every chunk) is what makes sharing them safe.
public struct UncheckedSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ value: T) { self.value = value }
}
