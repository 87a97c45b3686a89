// KVCache: preallocated keys and values for every layer, (B, Tmax, Hkv*D) each, plus the
// attention mask of everything cached so far. Appending copies the new block's K/V rows
// in place; nothing is reallocated while decoding.
import TensorCore

public final class LayerCache {
    public private(set) var k: Tensor, v: Tensor
    public let capacity: Int
    public private(set) var length = 0
    unowned let owner: KVCache

    init(batch: Int, capacity: Int, width: Int, owner: KVCache) {
        k = Tensor(zeros: [batch, capacity, width]); v = Tensor(zeros: [batch, capacity, width])
        self.capacity = capacity
        self.owner = owner
    }

    /// The mask over cached positions (B, length), shared by all layers.
    var mask: [Float] { owner.mask }

    func append(k newK: Tensor, v newV: Tensor) throws(TensorError) {
        let (b, tn, w) = (newK.shape[0], newK.shape[1], newK.shape[2])
        guard length + tn <= capacity else {
            throw .invalidArgument(op: "KVCache", detail: "\(length) cached + \(tn) new tokens exceed the capacity \(capacity)")
        }
        let kp = newK.pointer, vp = newV.pointer
        k.withUnsafeMutableBufferPointer { kc in
            v.withUnsafeMutableBufferPointer { vc in
                for bi in 0..<b {
                    let dst = (bi * capacity + length) * w, src = bi * tn * w
                    (kc.baseAddress! + dst).update(from: kp + src, count: tn * w)
                    (vc.baseAddress! + dst).update(from: vp + src, count: tn * w)
                }
            }
        }
        length += tn
    }
}

public final class KVCache {
    public let batch: Int, capacity: Int
    public private(set) var layers: [LayerCache] = []
    /// (B, length) attention mask of all cached tokens, row-major by batch.
    public private(set) var mask: [Float] = []
    public private(set) var length = 0

    public init(config: TransformerConfig, batch: Int, capacity: Int) {
        self.batch = batch; self.capacity = capacity
        layers = (0..<config.layers).map { _ in
            LayerCache(batch: batch, capacity: capacity, width: config.kvHeads * config.headDim, owner: self)
        }
    }

    /// Records the mask of `newMask` (B, tn) before the layers append their K/V.
    func extendMask(_ newMask: [Float], time tn: Int) {
        var m: [Float] = []
        m.reserveCapacity(batch * (length + tn))
        for b in 0..<batch {
            m += mask[(b * length)..<((b + 1) * length)]
            m += newMask[(b * tn)..<((b + 1) * tn)]
        }
        mask = m
        length += tn
    }
}
