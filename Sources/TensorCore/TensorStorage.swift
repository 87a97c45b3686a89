// TensorStorage: one 64-byte-aligned heap buffer of Float32, owned by exactly one object.
// Tensors share it copy-on-write; nothing here knows about shapes or autograd.
import Foundation

public final class TensorStorage: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// Uninitialised memory; callers must write every element before reading.
    public init(uninitializedCount count: Int) {
        self.count = count
        // 64-byte alignment keeps SIMD16<Float> loads on single cache lines.
        let raw = BufferCache.allocate(bytes: max(count, 1) * MemoryLayout<Float>.stride)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    public convenience init(zeros count: Int) {
        self.init(uninitializedCount: count)
        pointer.initialize(repeating: 0, count: count)
    }

    public func copy() -> TensorStorage {
        let s = TensorStorage(uninitializedCount: count)
        s.pointer.update(from: pointer, count: count)
        return s
    }

    deinit { BufferCache.release(UnsafeMutableRawPointer(pointer), bytes: max(count, 1) * MemoryLayout<Float>.stride) }
}
