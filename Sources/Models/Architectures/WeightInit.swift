// WeightInit: where fresh weights come from — a seeded normal init, or zeros when the
// values are about to be overwritten by a checkpoint (skips generating ~10^8 normals).
import TensorCore

public struct WeightInit: Sendable {
    public var rng: Philox?

    public static func random(seed: UInt64) -> WeightInit { WeightInit(rng: Philox(seed: seed)) }
    public static var placeholder: WeightInit { WeightInit(rng: nil) }

    public mutating func normal(_ shape: [Int], std: Float) -> Tensor {
        guard rng != nil else { return Tensor(zeros: shape) }
        return Tensor.randomNormal(shape, std: std, rng: &rng!)
    }
}
