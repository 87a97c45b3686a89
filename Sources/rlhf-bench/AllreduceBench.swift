// `rlhf-bench allreduce`: in-place Float32 allreduce (sum) over the ranks of an `mpirun` job at
// a few sizes, next to a one-thread memcpy of the same bytes measured in the same run, and
// GradientAllreduce over a list of tensors next to one raw allreduce of as many elements (the
// cost of bucketing). Each rank times itself; the slowest rank's median is printed, by rank 0.
// Leaves out latency of tiny messages and the network between machines (run it across hosts
// with scripts/mpi-two-hosts.sh's launch to see that).
import ArgumentParser
import Distributed
import Foundation
import TensorCore

struct AllreduceBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Allreduce GB/s at N ranks (run under mpirun) against memcpy of the same bytes; bucketed gradient allreduce.")

    @Option(help: "Timed runs per figure (the median of the slowest rank is printed).") var runs = 7
    @Option(help: "Comma-separated message sizes in Float32 elements.") var sizes = "1024,65536,1048576,16777216"
    @Option(help: "Elements per GradientAllreduce bucket.") var bucket = 1 << 20

    func run() throws {
        // Options first: an error after MPI_Init exits non-zero, which aborts the whole job.
        let counts = sizes.split(separator: ",").map { Int($0) }
        guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--sizes: give positive element counts, e.g. 1024,1048576; got \(sizes)")
        }
        guard bucket > 0, runs > 0 else { throw ValidationError("--bucket and --runs must be > 0") }
        let comm = try MPICommunicator.world()
        if comm.isRoot {
            printFigure("allreduce_ranks", Double(comm.size), "")
            printFigure("allreduce_threads_per_rank", Double(ThreadPool.shared.threadCount), "")
        }
        let n = comm.size
        guard n > 1 else {
            // A group of one reduces nothing: its "bandwidth" would be a figure of no call at all.
            printFact("allreduce", "1 rank, nothing to measure; run under mpirun -np N with N >= 2")
            return
        }
        for case let count? in counts {
            let bytes = count * 4
            var buffer = [Float](repeating: 0, count: count)   // zeros: repeated sums stay finite
            let reduce = try slowest(comm, timed { () throws(DistributedError) in
                try comm.barrier()
                try comm.allreduce(&buffer, .sum)
            })
            let source = [Float](repeating: 1, count: count)
            var target = [Float](repeating: 0, count: count)
            let copy = try slowest(comm, timed { () throws(DistributedError) in
                target.withUnsafeMutableBytes { t in
                    source.withUnsafeBytes { s in _ = memcpy(t.baseAddress!, s.baseAddress!, bytes) }
                }
            })
            if comm.isRoot {
                let tag = "n\(n)_\(label(bytes))"
                printFigure("allreduce_\(tag)_seconds", reduce, "s")
                // Algorithm bandwidth: bytes of the message / time (what a trainer waits on per gradient byte).
                printFigure("allreduce_\(tag)_GBps", Double(bytes) / reduce / 1e9, "GB/s")
                printFigure("memcpy_\(label(bytes))_GBps", Double(bytes) / copy / 1e9, "GB/s")
                printFigure("allreduce_\(tag)_vs_memcpy", copy / reduce, "x")
            }
        }
        try bucketFigures(comm, total: counts.compactMap { $0 }.max()!)
    }

    /// GradientAllreduce over ~total elements in tensors of mixed sizes, against one allreduce of the same count.
    func bucketFigures(_ comm: MPICommunicator, total: Int) throws {
        var shapes: [[Int]] = []
        var left = total
        var k = 0
        while left > 0 {   // a transformer-like mix: big matrices with small vectors between them
            let size = min(left, k % 3 == 2 ? 768 : 768 * 1024)
            shapes.append([size]); left -= size; k += 1
        }
        let params = shapes.map { s in Variable(Tensor(zeros: s), requiresGrad: true) }
        for p in params { p.grad = Tensor(zeros: p.shape) }
        let reducer = try GradientAllreduce(parameters: params, communicator: comm, reduction: .average, bucketElements: bucket)
        let bucketed = try slowest(comm, timed { () throws(DistributedError) in try comm.barrier(); try reducer.reduce() })
        var flat = [Float](repeating: 0, count: total)
        let raw = try slowest(comm, timed { () throws(DistributedError) in try comm.barrier(); try comm.allreduce(&flat, .sum) })
        if comm.isRoot {
            let tag = "n\(comm.size)_\(label(total * 4))_\(params.count)tensors_bucket\(label(bucket * 4))"
            printFigure("gradient_allreduce_\(tag)_seconds", bucketed, "s")
            printFigure("gradient_allreduce_\(tag)_vs_one_allreduce", raw / bucketed, "x")
        }
    }

    /// The median of `runs` timed calls; a failed collective stops the bench with its error.
    func timed(_ body: () throws(DistributedError) -> Void) throws(DistributedError) -> Double {
        var failure: DistributedError?
        let seconds = median(seconds: runs) {
            guard failure == nil else { return }
            do throws(DistributedError) { try body() } catch { failure = error }
        }
        if let failure { throw failure }
        return seconds
    }

    func slowest(_ comm: MPICommunicator, _ seconds: Double) throws -> Double { try comm.allreduce(seconds, .max) }

    func label(_ bytes: Int) -> String {
        bytes >= 1 << 20 ? "\(bytes >> 20)MiB" : bytes >= 1 << 10 ? "\(bytes >> 10)KiB" : "\(bytes)B"
    }
}
