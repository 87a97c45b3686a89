// Which example of a batch each row of the model's input belongs to, so that dropout can key a
// row's masks by (seed, step, global row index) and draw the same masks at any rank count or
// micro-batch split (docs/distributed.md). Leaves out batches with left padding (none train with it).
import Data
import NN

extension TrainingTask where Batch == CollatedBatch {
    /// One model row per example.
    public func dropoutRows(_ batch: CollatedBatch) -> [(example: Int, sub: Int)] {
        (0..<batch.batch).map { (example: $0, sub: 0) }
    }
}

extension TrainingTask where Batch == PreferenceBatch {
    /// A preference group's responses are consecutive rows: sub-row j is the group's j-th response.
    public func dropoutRows(_ batch: PreferenceBatch) -> [(example: Int, sub: Int)] {
        batch.groupSizes.enumerated().flatMap { g, n in (0..<n).map { (example: g, sub: $0) } }
    }
}
