// GlobalBatch: which rows of a global batch of G rows a rank takes. Configs give global batch
// sizes; each of N ranks takes one contiguous shard, so the same config means the same run
// at any N. Groups (GRPO's generations of one prompt) never straddle two ranks, so per-group
// statistics stay local. Leaves out shuffling (the data order is the caller's, by global row).

/// What to do when the rows (or groups) do not divide evenly among the ranks.
public enum UnevenShards: Sendable {
    /// Throw, naming G, the group size and N.
    case reject
    /// The first (units % N) ranks take one unit more. Exact with `GradientReduction.sum`.
    case spread
}

public struct GlobalBatch: Sendable, Equatable {
    /// G: rows in the global batch.
    public let size: Int
    /// N: ranks sharing it.
    public let ranks: Int
    /// Rows that must stay on one rank (a prompt's group); 1 when rows are independent.
    public let groupSize: Int
    public let uneven: UnevenShards

    public init(size: Int, ranks: Int, groupSize: Int = 1, uneven: UnevenShards = .reject) throws(DistributedError) {
        let call = "GlobalBatch"
        guard size > 0, ranks > 0, groupSize > 0 else {
            throw .invalidArgument(call: call, detail: "batch size \(size), ranks \(ranks) and group size \(groupSize) must all be > 0")
        }
        guard size % groupSize == 0 else {
            throw .invalidArgument(call: call, detail: "global batch \(size) is not a whole number of groups of \(groupSize)")
        }
        let units = size / groupSize
        guard units >= ranks else {
            throw .invalidArgument(call: call, detail: "global batch \(size) has \(units) group(s) of \(groupSize) row(s): "
                + "too few for \(ranks) ranks to get one each")
        }
        if uneven == .reject && units % ranks != 0 {
            throw .invalidArgument(call: call, detail: "global batch \(size) (\(units) group(s) of \(groupSize)) does not split evenly "
                + "over \(ranks) ranks; choose a multiple of \(ranks * groupSize) or allow uneven shards")
        }
        self.size = size
        self.ranks = ranks
        self.groupSize = groupSize
        self.uneven = uneven
    }

    /// Global row indices of rank r's shard.
    public func rows(ofRank r: Int) -> Range<Int> {
        precondition((0..<ranks).contains(r), "rank \(r) outside 0..<\(ranks)")
        let units = size / groupSize
        let base = units / ranks, extra = units % ranks
        let start = r * base + min(r, extra)
        let count = base + (r < extra ? 1 : 0)
        return (start * groupSize)..<((start + count) * groupSize)
    }
}
