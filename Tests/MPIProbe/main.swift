// MPIProbe: a few data-parallel AdamW steps of a tiny MLP (8 -> 16 -> 1, tanh) on a global batch
// sharded over the ranks: targets whitened over the global batch with a mask, loss = masked
// squared error summed over this rank's rows / valid count of the global batch, gradients summed
// by GradientAllreduce, then clipped. Rank 0 prints `ranks: N`, each step's global loss and a
// parameter checksum, for DistributedTests and scripts/mpi-two-hosts.sh to compare across N.
// Leaves out real models (the trainers wire the same calls in later).
//
// Flags: --steps K, --batch G, --bucket E (elements per bucket), --uneven (spread uneven shards),
// --single (SingleProcess, no MPI), --die-at-step K (the last rank SIGKILLs itself there),
// --throw-at-step K (the last rank fails with an error there).
import Distributed
import Foundation
import NN
import TensorCore

struct Options {
    var steps = 4, batch = 12, bucket = 1 << 20, uneven = false, single = false
    var dieAt: Int?, throwAt: Int?

    init(_ args: [String]) throws {
        var i = 0
        func value() throws -> Int {
            i += 1
            guard i < args.count, let v = Int(args[i]) else { throw ProbeError("\(args[i - 1]) needs an integer") }
            return v
        }
        while i < args.count {
            switch args[i] {
            case "--steps": steps = try value()
            case "--batch": batch = try value()
            case "--bucket": bucket = try value()
            case "--uneven": uneven = true
            case "--single": single = true
            case "--die-at-step": dieAt = try value()
            case "--throw-at-step": throwAt = try value()
            default: throw ProbeError("unknown flag \(args[i])")
            }
            i += 1
        }
    }
}

struct ProbeError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Row `row` of step `step`: 8 features, a target, and whether the target counts. It derives
/// from (seed, step, global row index) alone, never from the rank.
func example(step: Int, row: Int) -> (x: [Float], y: Float, valid: Bool) {
    var rng = Philox(seed: 1234, stream: UInt64(step) << 32 | UInt64(row))
    let x = (0..<8).map { _ in rng.normal() }
    let y = 3 * x[0] - 2 * x[1] * x[2] + 0.5 * rng.normal()
    return (x, y, row % 5 != 3)
}

func run(_ opt: Options) throws {
    let comm: any Communicator = opt.single ? SingleProcess() : try MPICommunicator.world()
    let batch = try GlobalBatch(size: opt.batch, ranks: comm.size, uneven: opt.uneven ? .spread : .reject)
    let rows = batch.rows(ofRank: comm.rank)
    if comm.isRoot { print("ranks: \(comm.size)"); print("threads: \(ThreadPool.shared.threadCount)") }
    try checkCollectives(comm)

    var rng = Philox(seed: 7)  // the same initial weights on every rank
    let l1 = Linear(inFeatures: 8, outFeatures: 16, rng: &rng)
    let l2 = Linear(inFeatures: 16, outFeatures: 1, rng: &rng)
    let params = [l1.weight, l1.bias!, l2.weight, l2.bias!]
    let optimizer = AdamW(parameters: params, config: AdamWConfig(lr: 0.05, weightDecay: 0.01))
    let reducer = try GradientAllreduce(parameters: params, communicator: comm, reduction: .sum, bucketElements: opt.bucket)

    for step in 0..<opt.steps {
        let last = comm.rank == comm.size - 1
        if last, opt.dieAt == step { raise(SIGKILL) }
        if last, opt.throwAt == step { throw ProbeError("rank \(comm.rank) fails on purpose at step \(step)") }
        // 1. this rank's rows  2. targets whitened over the global batch  3. loss over the global count
        let b = rows.count
        var xs: [Float] = [], ys: [Float] = [], mask: [Float] = []
        for r in rows { let e = example(step: step, row: r); xs += e.x; ys.append(e.y); mask.append(e.valid ? 1 : 0) }
        let maskT = try Tensor(shape: [b, 1], data: mask)
        let target = try comm.whiten(try Tensor(shape: [b, 1], data: ys), mask: maskT)
        let globalCount = try comm.maskedSums(maskT, mask: maskT).count
        let tape = Tape()
        let loss = try tape.record { () throws -> Variable in
            let h = try l1(Variable(try Tensor(shape: [b, 8], data: xs))).tanh()
            let d = try (try l2(h) - Variable(target)) * Variable(maskT)   // (b, 1)
            return d.squared().sum().scaled(by: 1 / Float(globalCount))
        }
        // 4. backward  5. sum gradients over ranks  6. clip  7. AdamW
        for p in params { p.zeroGrad() }
        try tape.backward(loss)
        try reducer.reduce()
        try clipGradNorm(params, maxNorm: 1)
        optimizer.step()
        let globalLoss = try comm.allreduce(Double(loss.value.item), .sum)
        if comm.isRoot { print("step \(step) loss \(String(format: "%.9e", globalLoss))") }
    }
    // Replicas must stay bit-identical: min and max of the checksum over ranks must agree.
    var sum = 0.0, magnitude = 0.0, squares = 0.0
    for p in params { for v in p.value.scalars { sum += Double(v); magnitude += Double(abs(v)); squares += Double(v) * Double(v) } }
    let lo = try comm.allreduce(sum, .min), hi = try comm.allreduce(sum, .max)
    guard lo == hi else { throw ProbeError("replicas diverged: parameter sums range over \(lo)...\(hi)") }
    // Σ p, Σ |p|, Σ p²: the sum alone can cancel; Σ |p| gives the scale to compare it against.
    if comm.isRoot { print("checksum " + [sum, magnitude, squares].map { String(format: "%.9e", $0) }.joined(separator: " ")) }
}

/// broadcast, allgather (a different count per rank) and barrier give what they promise.
func checkCollectives(_ comm: any Communicator) throws {
    var seed: [Int64] = comm.isRoot ? [42, -7] : [0, 0]
    try comm.broadcast(&seed, root: 0)
    guard seed == [42, -7] else { throw ProbeError("broadcast: rank \(comm.rank) got \(seed)") }
    let gathered = try comm.allgather([Double](repeating: Double(comm.rank) + 0.5, count: comm.rank + 1))
    let expected = (0..<comm.size).map { r in [Double](repeating: Double(r) + 0.5, count: r + 1) }
    guard gathered == expected else { throw ProbeError("allgather: rank \(comm.rank) got \(gathered)") }
    try comm.barrier()
    if comm.isRoot { print("collectives: ok") }
}

do {
    try run(try Options(Array(CommandLine.arguments.dropFirst())))
} catch {
    // A non-zero exit makes MPICommunicator abort the job, so no other rank waits on this one.
    FileHandle.standardError.write(Data("error: \(error)\n".utf8))
    exit(2)
}
