// `EpochSampler`: batches of example indices, epoch after epoch, each epoch reshuffled
// with `Philox(seed, stream: epoch)`. Its whole state is `DataPosition` (epoch, index into
// that epoch's order), which is Codable: save it in a checkpoint, construct a sampler with
// it, and the batches continue exactly. Leaves out length-grouped and distributed sampling.
import Foundation

/// Where iteration stands: `index` items of epoch `epoch`'s order have been handed out.
public struct DataPosition: Sendable, Equatable, Hashable, Codable {
    public var epoch: Int
    public var index: Int
    public init(epoch: Int = 0, index: Int = 0) { self.epoch = epoch; self.index = index }
    public static let start = DataPosition()
}

public struct EpochSampler: Sendable {
    /// The pool (e.g. `DataSplit.train`), in its given order.
    public let indices: [Int]
    public let batchSize: Int
    public let seed: UInt64
    /// Reshuffle each epoch (else the pool's order every epoch).
    public let shuffle: Bool
    /// Drop an epoch's last batch when it is short (else it is yielded short).
    public let dropLast: Bool
    /// The next batch starts here; after an epoch's last batch this is (epoch + 1, 0).
    public private(set) var position: DataPosition
    var cache: (epoch: Int, order: [Int])?

    public init(indices: [Int], batchSize: Int, seed: UInt64, shuffle: Bool = true, dropLast: Bool = false,
                position: DataPosition = .start) throws {
        guard !indices.isEmpty else { throw DataError.invalidArgument("cannot sample from an empty dataset") }
        guard batchSize >= 1 else { throw DataError.invalidArgument("batch size must be >= 1, got \(batchSize)") }
        if dropLast, indices.count < batchSize {
            throw DataError.invalidArgument("batch size \(batchSize) exceeds the \(indices.count) examples and drop_last is set: no batches")
        }
        guard position.epoch >= 0, position.index >= 0, position.index <= indices.count else {
            throw DataError.invalidArgument("data position (epoch \(position.epoch), index \(position.index)) is outside a dataset of \(indices.count)")
        }
        self.indices = indices; self.batchSize = batchSize; self.seed = seed
        self.shuffle = shuffle; self.dropLast = dropLast; self.position = position
        normalize()
    }

    /// Batches per epoch.
    public var batchesPerEpoch: Int {
        dropLast ? indices.count / batchSize : (indices.count + batchSize - 1) / batchSize
    }

    /// Epoch `epoch`'s order of the pool.
    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return indices }
        return Shuffle.permutation(count: indices.count, seed: seed, stream: UInt64(epoch)).map { indices[$0] }
    }

    /// The next batch of indices and the epoch it belongs to; never runs out (epochs roll over).
    public mutating func next() -> (batch: [Int], epoch: Int) {
        let epoch = position.epoch
        if cache?.epoch != epoch { cache = (epoch, order(epoch: epoch)) }
        let order = cache!.order
        let end = min(position.index + batchSize, order.count)
        let batch = Array(order[position.index..<end])
        position.index = end
        normalize()
        return (batch, epoch)
    }

    /// The next `count` indices, continuing into the next epoch's shuffle when this epoch
    /// runs out, so every batch is full and a run sees exactly the items it asked for
    /// (PPO's `total_episodes`). A count above the pool size spans several epochs.
    public mutating func take(_ count: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(max(count, 0))
        while out.count < count {
            let epoch = position.epoch
            if cache?.epoch != epoch { cache = (epoch, order(epoch: epoch)) }
            let order = cache!.order
            let end = min(position.index + (count - out.count), order.count)
            out += order[position.index..<end]
            position.index = end
            normalize()
        }
        return out
    }

    mutating func normalize() {
        let remaining = indices.count - position.index
        if remaining == 0 || (dropLast && remaining < batchSize) { position = DataPosition(epoch: position.epoch + 1, index: 0) }
    }
}
