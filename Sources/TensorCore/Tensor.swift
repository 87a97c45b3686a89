// Tensor: a Float32 array with an explicit shape, contiguous row-major, copy-on-write.
// It is plain data: autograd lives in `Variable`/`Tape`, kernels in Kernels/*.swift.
// Leaves out: strides/views (every layout change copies), other dtypes (ids are [Int32]).

public struct Tensor: @unchecked Sendable {
    /// Sizes of each axis, outermost first. `[]` is a scalar (one element).
    public private(set) var shape: [Int]
    @usableFromInline var storage: TensorStorage

    public var count: Int { storage.count }
    public var rank: Int { shape.count }

    /// Uninitialised contents: only for kernels that write every element.
    public init(uninitializedShape shape: [Int]) {
        self.shape = shape
        self.storage = TensorStorage(uninitializedCount: Tensor.elementCount(shape))
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.storage = TensorStorage(zeros: Tensor.elementCount(shape))
    }

    public init(shape: [Int], repeating value: Float) {
        self.init(uninitializedShape: shape)
        storage.pointer.initialize(repeating: value, count: count)
    }

    /// Precondition-free constructor for user data: a wrong count throws, naming both.
    public init(shape: [Int], data: [Float]) throws(TensorError) {
        let n = Tensor.elementCount(shape)
        guard n == data.count else {
            throw .shapeMismatch(op: "Tensor.init", detail: "shape \(shapeString(shape)) holds \(n) elements but \(data.count) were given")
        }
        self.init(uninitializedShape: shape)
        data.withUnsafeBufferPointer { storage.pointer.update(from: $0.baseAddress!, count: n) }
    }

    public init(scalar: Float) {
        self.init(shape: [], repeating: scalar)
    }

    @inlinable
    public static func elementCount(_ shape: [Int]) -> Int {
        var n = 1
        for d in shape { n *= d }
        return n
    }

    /// The elements in row-major order.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The single element of a one-element tensor.
    public var item: Float { storage.pointer[0] }

    public subscript(flat i: Int) -> Float {
        get { storage.pointer[i] }
        set { makeUnique(); storage.pointer[i] = newValue }
    }

    @inlinable
    public mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    @inlinable
    public func withUnsafeBufferPointer<R, E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(_ body: (UnsafeMutableBufferPointer<Float>) throws(E) -> R) throws(E) -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Read-only base pointer, valid while `self` is alive. For kernels.
    @inlinable public var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }

    /// Same elements, new shape of equal element count (no copy).
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
        guard Tensor.elementCount(newShape) == count else {
            throw .shapeMismatch(op: "reshape", detail: "\(shapeString(shape)) (\(count) elements) cannot become \(shapeString(newShape))")
        }
        var t = self
        t.shape = newShape
        return t
    }

    /// Internal unchecked reshape for kernels that have already validated counts.
    @usableFromInline
    func unsafeReshaped(_ newShape: [Int]) -> Tensor {
        var t = self
        t.shape = newShape
        return t
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = scalars.prefix(8).map { String($0) }.joined(separator: ", ")
        return "Tensor\(shapeString(shape)) [\(head)\(count > 8 ? ", ..." : "")]"
    }
}
