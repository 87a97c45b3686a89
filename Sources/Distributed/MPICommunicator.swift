// MPICommunicator: the world communicator of Open MPI, initialised once per process
// (MPI_THREAD_SERIALIZED; calls are serialised by a lock) with MPI_ERRORS_RETURN, so a failed
// call becomes a DistributedError naming it. At exit: status 0 finalises; any other status
// aborts the whole job, so a rank that gives up never leaves the others waiting in a
// collective. Leaves out sub-communicators, non-blocking collectives and fault tolerance
// (a killed rank ends the job; see docs/distributed.md).
import CMPI
import Foundation

public final class MPICommunicator: Communicator, @unchecked Sendable {
    public let rank: Int
    public let size: Int
    public let localRank: Int
    public let localSize: Int
    /// The thread level MPI granted (asked: MPI_THREAD_SERIALIZED).
    public let threadLevel: Int32
    private let comm: MPI_Comm
    private let lock = NSLock()

    /// The world communicator, calling MPI_Init_thread on first use. Works under `mpirun` and
    /// as a singleton (a plain run is a group of one).
    public static func world() throws(DistributedError) -> MPICommunicator {
        try worldResult.get()
    }

    private static let worldResult: Result<MPICommunicator, DistributedError> = {
        do throws(DistributedError) { return .success(try MPICommunicator()) } catch { return .failure(error) }
    }()

    private init() throws(DistributedError) {
        var initialized: Int32 = 0
        try check(MPI_Initialized(&initialized), "MPI_Initialized")
        var provided: Int32 = 0
        if initialized == 0 {
            try check(MPI_Init_thread(nil, nil, rlhf_mpi_thread_serialized(), &provided), "MPI_Init_thread")
            // glibc's on_exit sees the exit status, which atexit does not.
            on_exit({ status, _ in MPICommunicator.exitHandler(status) }, nil)
        } else {
            try check(MPI_Query_thread(&provided), "MPI_Query_thread")
        }
        guard provided >= rlhf_mpi_thread_serialized() else {
            throw .mpi(call: "MPI_Init_thread", code: provided, message: "MPI_THREAD_SERIALIZED was asked for, level \(provided) granted")
        }
        threadLevel = provided
        comm = rlhf_mpi_comm_world()
        try check(MPI_Comm_set_errhandler(comm, rlhf_mpi_errors_return()), "MPI_Comm_set_errhandler")
        var r: Int32 = 0, n: Int32 = 0
        try check(MPI_Comm_rank(comm, &r), "MPI_Comm_rank")
        try check(MPI_Comm_size(comm, &n), "MPI_Comm_size")
        rank = Int(r)
        size = Int(n)
        // Open MPI's launcher says how many ranks share this machine; a singleton has none.
        let env = ProcessInfo.processInfo.environment
        localRank = env["OMPI_COMM_WORLD_LOCAL_RANK"].flatMap { Int($0) } ?? 0
        localSize = env["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) } ?? 1
    }

    /// Status 0: MPI_Finalize. Otherwise MPI_Abort, which makes `mpirun` end every rank: a rank
    /// leaving with an error while the others wait for its gradients would hang them.
    private static func exitHandler(_ status: Int32) {
        var finalized: Int32 = 0
        MPI_Finalized(&finalized)
        guard finalized == 0 else { return }
        if status == 0 {
            MPI_Finalize()
        } else {
            MPI_Abort(rlhf_mpi_comm_world(), status)
        }
    }

    // MARK: Collectives

    /// MPI counts are Int32: longer buffers go in pieces of this many elements.
    static let maxChunk = 1 << 30

    public func allreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ op: ReduceOp) throws(DistributedError) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        let type = Self.datatype(T.scalarKind), mpiOp = Self.mpiOp(op)
        lock.lock(); defer { lock.unlock() }
        var start = 0
        while start < buffer.count {
            let n = min(Self.maxChunk, buffer.count - start)
            try check(MPI_Allreduce(rlhf_mpi_in_place(), base + start, Int32(n), type, mpiOp, comm), "MPI_Allreduce")
            start += n
        }
    }

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(DistributedError) {
        try checkRoot(root, "MPI_Bcast")
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        lock.lock(); defer { lock.unlock() }
        var start = 0
        while start < bytes.count {
            let n = min(Self.maxChunk, bytes.count - start)
            try check(MPI_Bcast(base + start, Int32(n), rlhf_mpi_byte(), Int32(root), comm), "MPI_Bcast")
            start += n
        }
    }

    public func barrier() throws(DistributedError) {
        lock.lock(); defer { lock.unlock() }
        try check(MPI_Barrier(comm), "MPI_Barrier")
    }

    public func allgather<T: CommunicatorScalar>(_ local: [T]) throws(DistributedError) -> [[T]] {
        // 1. every rank's count  2. the values, concatenated in rank order (MPI_Allgatherv)
        var counts = [Int64](repeating: 0, count: size)
        counts[rank] = Int64(local.count)
        try allreduce(&counts, .sum)
        let total = counts.reduce(0, +)
        guard total <= Int64(Int32.max) else {
            throw .invalidArgument(call: "MPI_Allgatherv", detail: "\(total) elements in all; allgather is for small arrays")
        }
        let recvCounts = counts.map { Int32($0) }
        var displacements = [Int32](repeating: 0, count: size)
        for r in 1..<max(1, size) { displacements[r] = displacements[r - 1] + recvCounts[r - 1] }
        guard total > 0 else { return Array(repeating: [], count: size) }
        var all = [T](repeating: .zero, count: Int(total))
        let type = Self.datatype(T.scalarKind)
        lock.lock(); defer { lock.unlock() }
        try local.withUnsafeBufferPointer { (send) throws(DistributedError) in
            try all.withUnsafeMutableBufferPointer { (recv) throws(DistributedError) in
                try check(MPI_Allgatherv(send.baseAddress, Int32(local.count), type, recv.baseAddress, recvCounts, displacements,
                                         type, comm), "MPI_Allgatherv")
            }
        }
        return (0..<size).map { r in Array(all[Int(displacements[r])..<Int(displacements[r] + recvCounts[r])]) }
    }

    public func abort(code: Int32) -> Never {
        MPI_Abort(comm, code)
        exit(code)  // MPI_Abort does not return; this satisfies the type checker
    }

    // MARK: Helpers

    private static func datatype(_ kind: ScalarKind) -> MPI_Datatype {
        switch kind {
        case .float: return rlhf_mpi_float()
        case .double: return rlhf_mpi_double()
        case .int64: return rlhf_mpi_int64()
        }
    }

    private static func mpiOp(_ op: ReduceOp) -> MPI_Op {
        switch op {
        case .sum: return rlhf_mpi_sum()
        case .max: return rlhf_mpi_max()
        case .min: return rlhf_mpi_min()
        }
    }
}

/// Throws unless `code` is MPI_SUCCESS, with MPI's own text for the code.
private func check(_ code: Int32, _ call: String) throws(DistributedError) {
    guard code != rlhf_mpi_success() else { return }
    var text = [CChar](repeating: 0, count: Int(rlhf_mpi_max_error_string()) + 1)
    var length: Int32 = 0
    let message = MPI_Error_string(code, &text, &length) == rlhf_mpi_success()
        ? String(decoding: text.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : "unknown error"
    throw .mpi(call: call, code: code, message: message)
}
