// Communicator: what a data-parallel trainer needs from its process group — rank and size,
// in-place allreduce (sum/max/min) of Float/Double/Int64 buffers, broadcast, barrier,
// allgather of small arrays, abort. Two implementations: SingleProcess (identity, N = 1)
// and MPICommunicator (Open MPI). Leaves out point-to-point messages and sub-communicators.
import TensorCore

/// How an allreduce combines the ranks' values element by element.
public enum ReduceOp: Sendable, CaseIterable {
    case sum, max, min
}

/// The element types a communicator moves; the kind picks the MPI datatype.
public enum ScalarKind: Sendable {
    case float, double, int64
}

public protocol CommunicatorScalar: AdditiveArithmetic, Sendable {
    static var scalarKind: ScalarKind { get }
}
extension Float: CommunicatorScalar { public static var scalarKind: ScalarKind { .float } }
extension Double: CommunicatorScalar { public static var scalarKind: ScalarKind { .double } }
extension Int64: CommunicatorScalar { public static var scalarKind: ScalarKind { .int64 } }

public protocol Communicator: AnyObject, Sendable {
    /// This process's index, 0..<size. Rank 0 alone writes files.
    var rank: Int { get }
    /// Number of processes in the group (N).
    var size: Int { get }
    /// Index among the ranks on this machine, and how many share it (for threads per rank).
    var localRank: Int { get }
    var localSize: Int { get }

    /// Replaces every element by its reduction over all ranks; every rank passes the same count.
    func allreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ op: ReduceOp) throws(DistributedError)
    /// Overwrites `bytes` on every rank with root's; every rank passes the same count.
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(DistributedError)
    /// Returns once every rank has called it.
    func barrier() throws(DistributedError)
    /// Every rank's `local`, indexed by rank; counts may differ between ranks.
    func allgather<T: CommunicatorScalar>(_ local: [T]) throws(DistributedError) -> [[T]]
    /// Ends every rank of the job with `code` (a rank that cannot go on must not leave the
    /// others waiting in a collective). The caller reports why before calling it.
    func abort(code: Int32) -> Never
}

extension Communicator {
    public var isRoot: Bool { rank == 0 }

    /// Array form of the in-place allreduce.
    public func allreduce<T: CommunicatorScalar>(_ values: inout [T], _ op: ReduceOp) throws(DistributedError) {
        try values.withUnsafeMutableBufferPointer { (buffer) throws(DistributedError) in try allreduce(buffer, op) }
    }

    /// One value reduced over all ranks.
    public func allreduce<T: CommunicatorScalar>(_ value: T, _ op: ReduceOp) throws(DistributedError) -> T {
        var v = [value]
        try allreduce(&v, op)
        return v[0]
    }

    /// Array form of broadcast: every rank must pass an array of root's count.
    public func broadcast<T: CommunicatorScalar>(_ values: inout [T], root: Int) throws(DistributedError) {
        try values.withUnsafeMutableBufferPointer { (b) throws(DistributedError) in
            try broadcast(UnsafeMutableRawBufferPointer(b), root: root)
        }
    }

    /// Checks `root` names a rank; for implementations.
    func checkRoot(_ root: Int, _ call: String) throws(DistributedError) {
        guard (0..<size).contains(root) else {
            throw .invalidArgument(call: call, detail: "root \(root) is not a rank of a group of \(size)")
        }
    }
}

/// Every failure of a collective, naming the call.
public enum DistributedError: Error, CustomStringConvertible, Equatable {
    /// An MPI call returned an error code (MPI_ERRORS_RETURN is set on the world communicator).
    case mpi(call: String, code: Int32, message: String)
    /// A wrong argument: counts that do not match across ranks, a root outside the group, an
    /// uneven batch that was asked to split evenly.
    case invalidArgument(call: String, detail: String)

    public var description: String {
        switch self {
        case let .mpi(call, code, message): return "\(call) failed (MPI error \(code)): \(message)"
        case let .invalidArgument(call, detail): return "\(call): invalid argument: \(detail)"
        }
    }
}
