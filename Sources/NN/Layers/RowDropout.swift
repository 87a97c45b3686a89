// Row-keyed dropout: every row of a batch draws its mask from its own Philox stream, named by a
// key the trainer derives from (seed, optimizer step, global row index). A row's mask is then the
// same whatever batch it sits in — another micro-batch split, another rank, another padded length
// (right padding) — which is what makes data-parallel training with dropout equal the 1-rank run.
// Left padding is handled by `leftPadding`: a (B, T, C) row's mask is then indexed from its first
// real token. Leaves out: keeping torch's masks (not a goal).
import TensorCore

/// The dropout streams of one batch: row `b` of any tensor whose leading dimension is the batch
/// draws from Philox(seed, stream: rows[b]). Each call site takes a fresh `site` number, so the
/// layers' masks differ; element j of a row at site s is the j-th uniform from counter s·2^40.
public struct RowStreams: Sendable, Equatable {
    public let seed: UInt64
    /// (B) one stream per row of the model's batch, in row order.
    public let rows: [UInt64]
    /// (B) left-padding positions per row (all 0 unless set by `leftPadded`): in a (B, T, C)
    /// tensor, element (t, c) of row b draws what element (t - leftPadding[b], c) would unpadded,
    /// so a left-padded row (the RL engine's prompts) gets the same masks in any batch width.
    public private(set) var leftPadding: [Int]

    public init(seed: UInt64, rows: [UInt64]) {
        self.seed = seed; self.rows = rows; leftPadding = Array(repeating: 0, count: rows.count)
    }

    /// These streams for rows left-padded by `padding[b]` positions.
    public func leftPadded(_ padding: [Int]) -> RowStreams {
        precondition(padding.count == rows.count, "one left-padding count per row")
        var s = self
        s.leftPadding = padding
        return s
    }

    /// Streams for the rows of one optimizer step: `keys[b]` = (global row index, sub-row) of model
    /// row b, where a sub-row tells apart several model rows of one example (a preference group's
    /// responses). The step and both indices are mixed (SplitMix64) into one 64-bit stream id.
    public init(seed: UInt64, step: Int, keys: [(row: Int, sub: Int)]) {
        self.seed = seed
        leftPadding = Array(repeating: 0, count: keys.count)
        rows = keys.map { k in
            var h = RowStreams.mix(0x6472_6F70_6F75_74 ^ UInt64(truncatingIfNeeded: step))   // "dropout" tag
            h = RowStreams.mix(h ^ UInt64(truncatingIfNeeded: k.row))
            return RowStreams.mix(h ^ UInt64(truncatingIfNeeded: k.sub))
        }
    }

    /// SplitMix64's finaliser: a bijection on 64 bits whose outputs for nearby inputs look independent.
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The inverted-dropout mask (0 or 1/(1-p)) of `shape`, whose leading dimension is the rows.
    public func mask(shape: [Int], p: Float, site: Int, op: String) throws(TensorError) -> Tensor {
        guard p >= 0 && p < 1 else { throw .invalidArgument(op: op, detail: "dropout p = \(p) must be in [0, 1)") }
        guard let b = shape.first, b == rows.count else {
            throw .shapeMismatch(op: op, detail: "dropout keyed for \(rows.count) rows, but tensor \(shapeString(shape)) has "
                                 + "\(shape.first ?? 0)")
        }
        let count = shape.reduce(1, *)
        var mask = Tensor(uninitializedShape: shape)
        let keep = 1 / (1 - p), per = count / rows.count, base = UInt64(site) << 40
        mask.withUnsafeMutableBufferPointer { mp in
            for (b, stream) in rows.enumerated() {
                let row = mp.baseAddress! + b * per
                // Element j of a left-padded (B, T, C) row is element j - shift of the unpadded row;
                // shift 0 otherwise. Counters are floor(index / 4), negative in the padding (whose
                // mask nothing reads); each Philox block serves four consecutive elements.
                let shift = shape.count == 3 ? leftPadding[b] * shape[2] : 0
                var cached = Int.min, u4: (UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0)
                for j in 0..<per {
                    let jj = j - shift, counter = jj >> 2
                    if counter != cached {
                        u4 = Philox.block(seed: seed, stream: stream, counter: base &+ UInt64(bitPattern: Int64(counter)))
                        cached = counter
                    }
                    let k = jj & 3, u = k == 0 ? u4.0 : k == 1 ? u4.1 : k == 2 ? u4.2 : u4.3
                    row[j] = Float(u >> 8) * (1.0 / 16_777_216.0) < p ? 0 : keep
                }
            }
        }
        return mask
    }
}

extension Variable {
    /// Inverted dropout with the row-keyed masks of `rows` at call site `site` (see `RowStreams`).
    /// p == 0 returns self unchanged.
    public func dropout(_ p: Float, rows: RowStreams, site: Int) throws(TensorError) -> Variable {
        if p == 0 { return self }
        let m = try rows.mask(shape: shape, p: p, site: site, op: "dropout \(shapeString(shape))")
        let y = Kernels.zipped(value, m) { $0 * $1 }
        return Tape.output(y, inputs: [self]) { g, _ in [Kernels.zipped(g, m) { $0 * $1 }] }
    }
}
