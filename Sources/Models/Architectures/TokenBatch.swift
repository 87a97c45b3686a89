// TokenBatch: the ids a model sees, with the masks and positions that make left-padded
// batches exact (docs/algorithms.md §4.1): attention mask 1 on real tokens, positions =
// cumsum(mask) - 1 clamped at 0, so padding never shifts a row's positions.
import TensorCore

public struct TokenBatch: Sendable, Equatable {
    public var ids: [Int32]             // (B, T)
    public var batch: Int
    public var time: Int
    public var attentionMask: [Float]   // (B, T) 1 = real token, 0 = padding
    public var positions: [Int32]       // (B, T)

    public init(ids: [Int32], batch: Int, time: Int, attentionMask: [Float], positions: [Int32]) throws(TensorError) {
        let n = batch * time
        guard ids.count == n, attentionMask.count == n, positions.count == n else {
            throw .shapeMismatch(op: "TokenBatch", detail: "batch \(batch) x time \(time) = \(n) but ids \(ids.count), mask \(attentionMask.count), positions \(positions.count)")
        }
        self.ids = ids; self.batch = batch; self.time = time; self.attentionMask = attentionMask; self.positions = positions
    }

    /// Positions derived from the mask: cumsum(mask) - 1, clamped at 0.
    public init(ids: [Int32], batch: Int, time: Int, attentionMask: [Float]) throws(TensorError) {
        try self.init(ids: ids, batch: batch, time: time, attentionMask: attentionMask,
                      positions: TokenBatch.positions(from: attentionMask, batch: batch, time: time))
    }

    /// Every token real.
    public init(ids: [Int32], batch: Int, time: Int) throws(TensorError) {
        try self.init(ids: ids, batch: batch, time: time, attentionMask: [Float](repeating: 1, count: ids.count))
    }

    /// Rows of different lengths, left-padded with `padId` to the longest.
    public static func leftPadded(_ rows: [[Int32]], padId: Int32) throws(TensorError) -> TokenBatch {
        let t = rows.map(\.count).max() ?? 0
        var ids: [Int32] = [], mask: [Float] = []
        for r in rows {
            ids += [Int32](repeating: padId, count: t - r.count) + r
            mask += [Float](repeating: 0, count: t - r.count) + [Float](repeating: 1, count: r.count)
        }
        return try TokenBatch(ids: ids, batch: rows.count, time: t, attentionMask: mask)
    }

    public static func positions(from mask: [Float], batch: Int, time: Int) -> [Int32] {
        var out = [Int32](repeating: 0, count: mask.count)
        for b in 0..<batch {
            var c: Int32 = 0
            for t in 0..<time {
                c += mask[b * time + t] != 0 ? 1 : 0
                out[b * time + t] = max(c - 1, 0)
            }
        }
        return out
    }

    /// Index of the last real token of each row (-1 for a row with none).
    public var lastRealIndex: [Int] {
        (0..<batch).map { b in
            var last = -1
            for t in 0..<time where attentionMask[b * time + t] != 0 { last = t }
            return last
        }
    }
}
