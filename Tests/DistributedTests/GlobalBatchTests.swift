// GlobalBatch sharding: every row lands on exactly one rank, shards are contiguous, groups never
// straddle ranks, and uneven or too-small batches are refused with a message naming the sizes.
// Leaves out the statistics over shards (GlobalStatisticsTests, and the MPI probe across ranks).
import Distributed
import Testing

@Suite struct GlobalBatchTests {
    @Test func evenSplitIsContiguousHalves() throws {
        let b = try GlobalBatch(size: 12, ranks: 2)
        #expect(b.rows(ofRank: 0) == 0..<6)
        #expect(b.rows(ofRank: 1) == 6..<12)
    }

    @Test func spreadGivesTheFirstRanksOneMore() throws {
        // 7 rows over 3 ranks: 7 = 3 + 2 + 2, the extra row on rank 0.
        let b = try GlobalBatch(size: 7, ranks: 3, uneven: .spread)
        #expect([0, 1, 2].map { b.rows(ofRank: $0) } == [0..<3, 3..<5, 5..<7])
    }

    @Test func everyRowOnceAndGroupsWhole() throws {
        for size in 1...40 {
            for ranks in 1...6 {
                for group in [1, 2, 4] where size % group == 0 && size / group >= ranks {
                    let b = try GlobalBatch(size: size, ranks: ranks, groupSize: group, uneven: .spread)
                    var next = 0
                    for r in 0..<ranks {
                        let rows = b.rows(ofRank: r)
                        #expect(rows.lowerBound == next && !rows.isEmpty, "G \(size) N \(ranks) group \(group) rank \(r): \(rows)")
                        #expect(rows.lowerBound % group == 0 && rows.count % group == 0, "group split: \(rows)")
                        next = rows.upperBound
                    }
                    #expect(next == size)
                }
            }
        }
    }

    @Test func refusalsNameTheSizes() {
        #expect(throws: DistributedError.self) { try GlobalBatch(size: 7, ranks: 2) }
        do {
            _ = try GlobalBatch(size: 7, ranks: 2)
        } catch {
            #expect("\(error)".contains("global batch 7") && "\(error)".contains("over 2 ranks"), "\(error)")
        }
        do {
            _ = try GlobalBatch(size: 2, ranks: 3, uneven: .spread)
            Issue.record("2 rows over 3 ranks was accepted")
        } catch {
            #expect("\(error)".contains("too few for 3 ranks"), "\(error)")
        }
        do {
            _ = try GlobalBatch(size: 10, ranks: 2, groupSize: 4)
            Issue.record("10 rows in groups of 4 was accepted")
        } catch {
            #expect("\(error)".contains("not a whole number of groups of 4"), "\(error)")
        }
    }
}
