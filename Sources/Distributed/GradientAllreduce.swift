// GradientAllreduce: after each rank's backward pass, makes every rank's `.grad` of an ordered
// parameter list the sum (or mean) over ranks, flattening the gradients into fixed-size
// buckets so a model of many small tensors costs few collectives. Deterministic: the same
// parameter order and bucket size give the same calls and the same bits on every rank.
// Leaves out overlap with the backward pass: the tape has no per-parameter hook yet
// (docs/distributed.md, "Speed", weighs what overlap would save).
import TensorCore

/// What the per-rank gradients are summed into.
public enum GradientReduction: Sendable {
    /// The ranks' gradients are added. Exact when each rank's loss is (sum over its rows) /
    /// (count over the global batch): the sum over ranks is then the 1-rank gradient, for any
    /// shard sizes. The trainers' losses are global means, so this is their choice.
    case sum
    /// The ranks' gradients are added and divided by N: equal to the 1-rank gradient only when
    /// each rank's loss is a mean over an equal shard.
    case average
}

public final class GradientAllreduce {
    public let parameters: [Variable]
    public let reduction: GradientReduction
    /// Elements per bucket (Float32): one allreduce moves at most this many.
    public let bucketElements: Int
    private let communicator: any Communicator
    private var bucket: [Float]

    /// Checks that every rank passes the same number of parameters with the same element
    /// counts (a rank with another model would otherwise sum unrelated numbers).
    public init(parameters: [Variable], communicator: any Communicator, reduction: GradientReduction = .sum,
                bucketElements: Int = 1 << 20) throws(DistributedError) {
        guard bucketElements > 0 else {
            throw .invalidArgument(call: "GradientAllreduce", detail: "bucketElements must be > 0, got \(bucketElements)")
        }
        self.parameters = parameters
        self.reduction = reduction
        self.bucketElements = bucketElements
        self.communicator = communicator
        bucket = [Float](repeating: 0, count: min(bucketElements, max(1, parameters.reduce(0) { $0 + $1.count })))
        // A cheap fingerprint of the list: count, total elements, and a position-weighted sum of sizes.
        var layout: [Int64] = [Int64(parameters.count), 0, 0]
        for (i, p) in parameters.enumerated() { layout[1] += Int64(p.count); layout[2] &+= Int64(i + 1) &* Int64(p.count) }
        var lo = layout, hi = layout
        try communicator.allreduce(&lo, .min)
        try communicator.allreduce(&hi, .max)
        guard lo == hi else {
            throw .invalidArgument(call: "GradientAllreduce", detail: "ranks hold different parameter lists: rank \(communicator.rank) has "
                + "\(layout[0]) tensors of \(layout[1]) elements, the group ranges over \(lo[0])...\(hi[0]) tensors, "
                + "\(lo[1])...\(hi[1]) elements")
        }
    }

    /// Reduces every parameter's gradient across ranks, in place. A parameter with no
    /// gradient on this rank counts as zeros if any rank has one (it then gets a gradient),
    /// and keeps `nil` if no rank has one, as a 1-rank run would (AdamW skips it).
    public func reduce() throws(DistributedError) {
        let n = communicator.size
        guard n > 1 else { return }  // a group of one: sum and mean are the identity
        // 1. which parameters have a gradient on any rank
        var present = parameters.map { $0.grad == nil ? Float(0) : 1 }
        try communicator.allreduce(&present, .max)
        // 2. take the gradients out (unique storage, so the scatter writes in place)
        var grads: [Tensor?] = parameters.enumerated().map { i, p in
            guard present[i] != 0 else { return nil }
            let g = p.grad ?? Tensor(zeros: p.shape)
            p.grad = nil
            return g
        }
        let scale: Float = reduction == .sum ? 1 : 1 / Float(n)
        // 3. fill buckets in parameter order, splitting a tensor across buckets where it does not fit
        var pending: [(param: Int, offset: Int, slot: Int, count: Int)] = []
        var filled = 0
        func flush() throws(DistributedError) {
            guard filled > 0 else { return }
            try bucket.withUnsafeMutableBufferPointer { (b) throws(DistributedError) in
                try communicator.allreduce(UnsafeMutableBufferPointer(rebasing: b[0..<filled]), .sum)
                for s in pending {
                    grads[s.param]!.withUnsafeMutableBufferPointer { g in
                        for k in 0..<s.count { g[s.offset + k] = b[s.slot + k] * scale }
                    }
                }
            }
            pending.removeAll(keepingCapacity: true)
            filled = 0
        }
        defer {
            // Put every gradient back. If a collective threw, some are reduced and some not:
            // the caller must not step (the error ends the job, see MPICommunicator).
            for (i, p) in parameters.enumerated() where grads[i] != nil { p.grad = grads[i] }
        }
        for i in parameters.indices where grads[i] != nil {
            let count = grads[i]!.count
            var offset = 0
            while offset < count {
                let take = min(count - offset, bucket.count - filled)
                grads[i]!.withUnsafeBufferPointer { g in
                    bucket.withUnsafeMutableBufferPointer { b in
                        for k in 0..<take { b[filled + k] = g[offset + k] }
                    }
                }
                pending.append((i, offset, filled, take))
                filled += take
                offset += take
                if filled == bucket.count { try flush() }
            }
        }
        try flush()
    }
}
