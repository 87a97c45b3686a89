// Memory-bound kernel figures for `rlhf-bench core`: exp, GELU (forward, backward), SiLU,
// add, row softmax (forward, backward), layerNorm forward and the AdamW update, on a
// DRAM-sized (16M floats) and an L2-sized (64K floats) tensor. Each op is timed next to a
// memcpy that moves the same bytes with the same thread split, in the same run.
// Bytes moved = each input array read once + each output written once (the minimum); a
// memcpy of k bytes moves 2k. Also: the always-on index checks as a fraction of their op.
// Leaves out: broadcast/strided ops, norm backward, RMSNorm (same loops as layerNorm).
import Foundation
import NN
import TensorCore

enum ElementwiseFigures {
    /// One op over `elements` floats that reads `reads` and writes `writes` such arrays.
    struct Case {
        let name: String
        let reads: Int, writes: Int
        let elements: Int
        /// Seconds for one call (median); computed by the case itself when it needs a tape.
        let seconds: (_ runs: Int, _ repeats: Int) -> Double
    }

    static func run(runs: Int) {
        var slow: [String] = []
        for (label, n, repeats) in [("16M_dram", 1 << 24, 1), ("64K_l2", 1 << 16, 128)] {
            slow += measure(label: label, n: n, repeats: repeats, runs: runs)
        }
        if !slow.isEmpty {
            print("NOTE: more than 2x a memcpy of the same bytes: \(slow.joined(separator: ", "))")
        }
        checkCosts(runs: runs)
    }

    static func tensor(_ n: Int, seed: UInt64, shape: [Int]? = nil) -> Tensor {
        let p = CoreBench.filled(n, seed: seed)
        defer { p.deallocate() }
        var t = Tensor(uninitializedShape: shape ?? [n])
        t.withUnsafeMutableBufferPointer { $0.baseAddress!.update(from: p, count: n) }
        return t
    }

    /// Times every case at size n, each followed by its memcpy twin; returns the slow ones.
    static func measure(label: String, n: Int, repeats: Int, runs: Int) -> [String] {
        let x = tensor(n, seed: 11), g = tensor(n, seed: 12)
        var y = Tensor(uninitializedShape: [n])
        let xp = x.pointer, gp = g.pointer
        let yp = y.withUnsafeMutableBufferPointer { $0.baseAddress! }
        let xv = Variable(x)

        func timed(_ body: @escaping () -> Void) -> (Int, Int) -> Double {
            { runs, repeats in median(seconds: runs) { for _ in 0..<repeats { body() } } / Double(repeats) }
        }

        // Softmax over rows of 1024 (a vocabulary-sized row is the same loop, longer).
        let width = 1024
        let sx = Variable(try! x.reshaped([n / width, width]), requiresGrad: true)
        let sg = try! g.reshaped([n / width, width])
        // layerNorm over GPT-2's 768 channels: as many whole rows as fit in n.
        let c = 768, lnRows = n / c
        let lx = Variable(tensor(lnRows * c, seed: 13, shape: [lnRows, c]))
        let lw = Variable(tensor(c, seed: 14)), lb = Variable(tensor(c, seed: 15))
        // AdamW state: parameter, gradient, m, v (v starts at 0 as in the first step).
        var param = tensor(n, seed: 16), mState = Tensor(zeros: [n]), vState = Tensor(zeros: [n])

        let softmaxForward = timed { _ = try! sx.softmax() }
        let cases: [Case] = [
            Case(name: "exp", reads: 1, writes: 1, elements: n,
                 seconds: timed { Kernels.map(xp, yp, n) { VectorMath.exp($0) } }),
            Case(name: "gelu_fwd", reads: 1, writes: 1, elements: n, seconds: timed { _ = xv.gelu() }),
            Case(name: "gelu_bwd", reads: 2, writes: 1, elements: n,
                 seconds: timed { Kernels.zip(xp, gp, yp, n) { VectorMath.geluBackward($0, $1) } }),
            Case(name: "silu", reads: 1, writes: 1, elements: n,
                 seconds: timed { Kernels.map(xp, yp, n) { VectorMath.silu($0) } }),
            Case(name: "add", reads: 2, writes: 1, elements: n,
                 seconds: timed { Kernels.zip(xp, gp, yp, n) { $0 + $1 } }),
            Case(name: "softmax_rows1024_fwd", reads: 1, writes: 1, elements: n, seconds: softmaxForward),
            // Backward = (forward recorded + backward) - forward; reads y and dy, writes dx.
            Case(name: "softmax_rows1024_bwd", reads: 2, writes: 1, elements: n, seconds: { runs, repeats in
                let both = timed {
                    let tape = Tape()
                    let out = tape.record { try! sx.softmax() }
                    try! tape.backward(out, seed: sg)
                    sx.zeroGrad()
                }(runs, repeats)
                return max(both - softmaxForward(runs, repeats), 1e-12)
            }),
            Case(name: "layernorm768_fwd", reads: 1, writes: 1, elements: lnRows * c,
                 seconds: timed { _ = try! layerNorm(lx, weight: lw, bias: lb, eps: 1e-5) }),
            Case(name: "adamw_update", reads: 4, writes: 3, elements: n, seconds: timed {
                AdamWKernel.update(param: &param, grad: g, m: &mState, v: &vState, lr: 1e-3, beta1: 0.9, beta2: 0.999,
                                   eps: 1e-8, weightDecay: 0.01, stepSize: 1e-3, bc2Sqrt: 0.03)
            }),
        ]

        let maxBytes = cases.map { ($0.reads + $0.writes) * $0.elements * 4 / 2 }.max()!
        let src = UnsafeMutableRawPointer.allocate(byteCount: maxBytes, alignment: 64)
        let dst = UnsafeMutableRawPointer.allocate(byteCount: maxBytes, alignment: 64)
        defer { src.deallocate(); dst.deallocate() }
        memset(src, 1, maxBytes); memset(dst, 0, maxBytes)

        var slow: [String] = []
        for k in cases {
            let t = k.seconds(runs, repeats)
            let moved = Double((k.reads + k.writes) * k.elements * 4)
            let copyBytes = Int(moved) / 2
            let tc = timed { splitMemcpy(dst, src, bytes: copyBytes, elements: k.elements) }(runs, repeats)
            let key = "elementwise_\(k.name)_\(label)"
            printFigure(key, moved / t / 1e9, "GB/s")
            printFigure("\(key)_rate", Double(k.elements) / t / 1e9, "Gelem/s")
            printFigure("\(key)_memcpy_same_bytes", moved / tc / 1e9, "GB/s")
            printFigure("\(key)_time_vs_memcpy", t / tc, "x")
            if t / tc > 2 { slow.append("\(k.name)_\(label) (\(String(format: "%.1f", t / tc))x)") }
        }
        _ = y.count
        return slow
    }

    /// memcpy of `bytes`, split over the pool exactly as a kernel over `elements` floats is
    /// (`Kernels.chunked`: one chunk per 64K elements, at most one per thread).
    static func splitMemcpy(_ dst: UnsafeMutableRawPointer, _ src: UnsafeMutableRawPointer, bytes: Int, elements: Int) {
        let pool = ThreadPool.shared
        let chunks = min(pool.threadCount, max(1, elements / Kernels.parallelThreshold))
        if chunks <= 1 { memcpy(dst, src, bytes); return }
        let per = ((bytes + chunks - 1) / chunks + 63) & ~63
        let d = UncheckedSendable(dst), s = UncheckedSendable(src)
        pool.parallelFor(chunks) { i in
            let lo = i * per, hi = min(bytes, lo + per)
            if lo < hi { memcpy(d.value + lo, s.value + lo, hi - lo) }
        }
    }

    // MARK: - Always-on checks

    /// The id range checks of `embedding` (GPT-2's table, B x T = 4 x 256 ids) and of
    /// `gatherLastAxis` (token log-probs: 512 rows of a 50257-wide vocabulary), as a fraction
    /// of the whole op with valid ids. The check alone is the same predicate over 64K ids
    /// (one call per timed run, so nothing can be hoisted), scaled to the op's id count.
    static func checkCosts(runs: Int) {
        let vocab = 50257, channels = 768
        var rng = Philox(seed: 21)
        let many = (0..<65536).map { _ in Int32(rng.nextUInt32() % UInt32(vocab)) }
        let perId = median(seconds: runs) { consume(rangeCheck(opaque(many), limit: vocab)) } / Double(many.count)
        printFigure("check_cost_per_id", perId * 1e9, "ns")

        let table = Variable(Tensor(shape: [vocab, channels], repeating: 0.5))
        let ids = Array(many[0..<1024])
        let op = median(seconds: runs) { for _ in 0..<16 { _ = try! embedding(ids, shape: [4, 256], table: table) } } / 16
        printFigure("check_cost_embedding_op_b4_t256", op * 1e6, "us")
        printFigure("check_cost_embedding_fraction", perId * Double(ids.count) / op, "")

        let rows = 512
        let logits = Variable(Tensor(shape: [rows, vocab], repeating: 0.25))
        let index = Array(many[0..<rows])
        let gop = median(seconds: runs) { for _ in 0..<256 { _ = try! gatherLastAxis(logits, index) } } / 256
        printFigure("check_cost_gather_op_512_rows", gop * 1e6, "us")
        printFigure("check_cost_gather_fraction", perId * Double(rows) / gop, "")
    }

    /// The predicate `embedding` and `gatherLastAxis` run over their ids (first bad index, or -1).
    @inline(__always)
    static func rangeCheck(_ ids: [Int32], limit: Int) -> Int {
        for (i, id) in ids.enumerated() where id < 0 || Int(id) >= limit { return i }
        return -1
    }

    /// Hides a value from the optimiser so a timed call cannot be removed.
    @inline(never) static func opaque<T>(_ x: T) -> T { x }
    nonisolated(unsafe) static var sink = 0
    @inline(never) static func consume(_ x: Int) { sink &+= x }
}
