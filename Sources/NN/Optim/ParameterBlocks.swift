// ParameterBlocks: every parameter's elements cut into fixed-size blocks, in parameter order,
// so the optimizer's passes (gradient norm, clipping, AdamW) run as one pool job over all
// parameters, and a reduction over blocks is the same number for any thread count.
// Leaves out: the arithmetic itself (GradClip.swift, AdamW.swift).
import TensorCore

struct ParameterBlocks {
    /// Elements per block. Fixed, never derived from the thread count: block boundaries decide
    /// the order of the Double partial sums, so they must not move when the pool grows.
    /// 64K also matches the Float-accumulator flush of `Kernels.sumOfSquares`.
    static let blockSize = 1 << 16

    /// One block: elements lo..<hi of parameter `tensor`.
    struct Block {
        let tensor: Int
        let lo: Int
        let hi: Int
    }

    let blocks: [Block]

    /// Blocks of the tensors whose `counts[i]` is given (nil: the parameter is skipped).
    init(counts: [Int?]) {
        var blocks: [Block] = []
        for (i, count) in counts.enumerated() {
            guard let count else { continue }
            var lo = 0
            while lo < count {
                let hi = min(count, lo + Self.blockSize)
                blocks.append(Block(tensor: i, lo: lo, hi: hi))
                lo = hi
            }
        }
        self.blocks = blocks
    }

    /// Runs body(block index) for every block across `pool`. Blocks are claimed dynamically,
    /// so large and small parameters balance; anything written per block index is
    /// independent of which thread ran it.
    func forEach(pool: ThreadPool, _ body: (Int) -> Void) {
        pool.parallelFor(blocks.count, body)
    }
}
