// SingleProcess: the communicator of a run without MPI — one rank, every collective the
// identity. Trainers take `any Communicator` and get this one by default, so the N = 1
// path is the same code as the N-rank path. Leaves out nothing a group of one could do.
import Foundation

public final class SingleProcess: Communicator {
    public init() {}

    public var rank: Int { 0 }
    public var size: Int { 1 }
    public var localRank: Int { 0 }
    public var localSize: Int { 1 }

    public func allreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ op: ReduceOp) throws(DistributedError) {}

    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(DistributedError) {
        try checkRoot(root, "broadcast")
    }

    public func barrier() throws(DistributedError) {}

    public func allgather<T: CommunicatorScalar>(_ local: [T]) throws(DistributedError) -> [[T]] { [local] }

    public func abort(code: Int32) -> Never { exit(code) }
}
