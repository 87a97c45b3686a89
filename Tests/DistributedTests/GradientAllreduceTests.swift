// GradientAllreduce's bucketing against a group of identical ranks (MirrorGroup: the sum over
// k ranks is k times this rank's values): every element comes back scaled right whatever the
// bucket size, tensors split across buckets included, and nil gradients follow the group.
// Leaves out real processes (DistributedTests/MPIProbeTests runs the probe under mpirun).
import Distributed
import TensorCore
import Testing

/// k ranks that all hold this rank's values; `othersMax` stands for the other ranks' values in
/// a max-reduction (a rank that has a gradient this one lacks).
final class MirrorGroup: Communicator, @unchecked Sendable {
    let size: Int
    var othersMax: Float?
    var sumCalls: [Int] = []
    init(size: Int) { self.size = size }
    var rank: Int { 0 }
    var localRank: Int { 0 }
    var localSize: Int { 1 }

    func allreduce<T: CommunicatorScalar>(_ buffer: UnsafeMutableBufferPointer<T>, _ op: ReduceOp) throws(DistributedError) {
        if op == .sum { sumCalls.append(buffer.count) }
        for i in buffer.indices {
            switch (op, buffer[i]) {
            case (.sum, let v as Float): buffer[i] = v * Float(size) as! T
            case (.sum, let v as Double): buffer[i] = v * Double(size) as! T
            case (.sum, let v as Int64): buffer[i] = v * Int64(size) as! T
            case (.max, let v as Float): if let o = othersMax { buffer[i] = Swift.max(v, o) as! T }
            default: break
            }
        }
    }
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int) throws(DistributedError) {}
    func barrier() throws(DistributedError) {}
    func allgather<T: CommunicatorScalar>(_ local: [T]) throws(DistributedError) -> [[T]] { Array(repeating: local, count: size) }
    func abort(code: Int32) -> Never { fatalError("abort \(code)") }
}

@Suite struct GradientAllreduceTests {
    /// Parameters of 5, 1, 12 and 3 elements with distinct gradient values.
    func parameters() throws -> [Variable] {
        var start: Float = 1
        return try [[5], [1], [3, 4], [3]].map { shape in
            let n = Tensor.elementCount(shape)
            let p = Variable(Tensor(zeros: shape), requiresGrad: true)
            p.grad = try Tensor(shape: shape, data: (0..<n).map { start + Float($0) * 0.25 })
            start += 10
            return p
        }
    }

    @Test(arguments: [1, 3, 5, 6, 7, 20, 21, 1000])
    func sumAndAverageForEveryBucketSize(bucket: Int) throws {
        for reduction in [GradientReduction.sum, .average] {
            let params = try parameters()
            let before = params.map { $0.grad!.scalars }
            let group = MirrorGroup(size: 4)
            let reducer = try GradientAllreduce(parameters: params, communicator: group, reduction: reduction, bucketElements: bucket)
            try reducer.reduce()
            for (p, b) in zip(params, before) {
                // Exact: x * 4 and (x * 4) * 0.25 are exact in Float for these values.
                let expected = b.map { reduction == .sum ? $0 * 4 : $0 }
                #expect(p.grad!.scalars == expected, "bucket \(bucket) \(reduction): \(p.grad!.scalars) vs \(expected)")
            }
            // 21 elements in buckets of `bucket`: the calls fill each bucket before the next.
            let total = 21
            let sizes = stride(from: 0, to: total, by: bucket).map { min(bucket, total - $0) }
            #expect(group.sumCalls == sizes, "bucket \(bucket): calls \(group.sumCalls)")
        }
    }

    @Test func nilGradientsFollowTheGroup() throws {
        let params = try parameters()
        params[1].grad = nil
        params[3].grad = nil
        let group = MirrorGroup(size: 2)
        let reducer = try GradientAllreduce(parameters: params, communicator: group, bucketElements: 4)
        // No rank has them: they stay nil, as in a 1-rank run (AdamW skips them).
        try reducer.reduce()
        #expect(params[1].grad == nil && params[3].grad == nil)
        // Another rank has them: this rank contributes zeros and receives the (mirrored) sum.
        group.othersMax = 1
        try reducer.reduce()
        #expect(params[1].grad?.scalars == [0] && params[3].grad?.scalars == [0, 0, 0])
    }

    @Test func aGroupOfOneLeavesGradientsAlone() throws {
        let params = try parameters()
        let before = params.map { $0.grad!.scalars }
        try GradientAllreduce(parameters: params, communicator: SingleProcess(), reduction: .average).reduce()
        #expect(params.map { $0.grad!.scalars } == before)
    }

    @Test func zeroBucketIsRefused() throws {
        #expect(throws: DistributedError.self) {
            try GradientAllreduce(parameters: try parameters(), communicator: SingleProcess(), bucketElements: 0)
        }
    }
}
