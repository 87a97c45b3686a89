// Statistics over the global batch reduce to RLMath's on one rank, and the default thread count
// per rank divides the cores among the ranks on the machine. Leaves out several ranks (the MPI
// probe whitens its targets over the global batch and is compared across N in MPIProbeTests).
import Distributed
import RLMath
import TensorCore
import Testing

@Suite struct GlobalStatisticsTests {
    let x = try! Tensor(shape: [2, 3], data: [1, -2, 4, 0.5, 7, -3])
    let mask = try! Tensor(shape: [2, 3], data: [1, 1, 0, 1, 1, 1])

    @Test func oneRankEqualsRLMath() throws {
        let comm = SingleProcess()
        #expect(try comm.whiten(x, mask: mask).scalars == RLMath.whiten(x, mask: mask).scalars)
        #expect(try comm.whiten(x, mask: mask, shiftMean: false, unbiased: false).scalars
                == RLMath.whiten(x, mask: mask, shiftMean: false, unbiased: false).scalars)
        let m = try comm.maskedMoments(x, mask: mask)
        // Valid: 1, -2, 0.5, 7, -3 -> sum 3.5, mean 0.7; squared deviations 0.09 + 7.29 + 0.04 + 39.69 + 13.69 = 60.8.
        #expect(m.count == 5 && abs(m.mean - 0.7) < 1e-12 && abs(m.variance - 60.8 / 4) < 1e-12, "\(m)")
        #expect(Float(m.variance) == (try maskedVariance(x, mask: mask)))
        #expect(try comm.maskedMean(x, mask: mask) == 0.7)
    }

    @Test func emptyMaskIsAnError() {
        #expect(throws: (any Error).self) { try SingleProcess().maskedMean(x, mask: Tensor(zeros: [2, 3])) }
        #expect(throws: (any Error).self) { try SingleProcess().whiten(x, mask: Tensor(zeros: [2, 3])) }
    }

    @Test func threadsPerRank() {
        #expect(ThreadPool.defaultThreadCount(environment: [:], cores: 16) == 16)
        #expect(ThreadPool.defaultThreadCount(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "4"], cores: 16) == 4)
        #expect(ThreadPool.defaultThreadCount(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "3"], cores: 2) == 1)
        #expect(ThreadPool.defaultThreadCount(environment: ["OMPI_COMM_WORLD_LOCAL_SIZE": "4", "RLHF_THREADS": "3"], cores: 16) == 3)
        #expect(ThreadPool.defaultThreadCount(environment: ["RLHF_THREADS": "0"], cores: 8) == 8)
    }
}
