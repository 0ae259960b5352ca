/// A dense float32 tensor in contiguous row-major order, as PyTorch's default (`torch.contiguous_format`):
/// activations are `(N, C, H, W)`, convolution weights `(outputChannels, inputChannels, kH, kW)`.
///
/// `Tensor` is a value type with copy-on-write storage: copies are cheap and share memory until one of
/// them is mutated. `==` is exact equality of shape and every element (no tolerance).
public struct Tensor: Sendable, Equatable, CustomStringConvertible {
    /// The size of each dimension, outermost first.
    public let shape: [Int]
    /// The elements; shared between copies until one of them mutates.
    public private(set) var storage: TensorStorage

    /// Number of elements (the product of `shape`).
    public var count: Int { storage.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    // MARK: - Creating tensors

    /// A tensor of the given shape with every element equal to `value` (PyTorch `torch.full`).
    /// - Precondition: every dimension is non-negative.
    public init(shape: [Int], repeating value: Float = 0) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *), repeating: value)
    }

    /// A tensor holding `scalars` in row-major order.
    /// - Throws: `TensorError` when the number of scalars differs from the product of `shape`.
    public init(shape: [Int], scalars: [Float]) throws(TensorError) {
        guard let expected = Tensor.elementCount(shape), expected == scalars.count else {
            throw TensorError("Tensor", "shape \(shape) does not hold the \(scalars.count) values given")
        }
        self.shape = shape
        storage = TensorStorage(uninitializedCount: scalars.count)
        scalars.withUnsafeBufferPointer { storage.baseAddress.update(from: $0.baseAddress!, count: $0.count) }
    }

    /// A tensor whose elements are left uninitialised (PyTorch `torch.empty`): for kernels that overwrite
    /// every element.
    public static func empty(shape: [Int]) -> Tensor {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        return Tensor(shape: shape, storage: TensorStorage(uninitializedCount: shape.reduce(1, *)))
    }

    /// A tensor whose elements are `body(i)` for flat index `i`.
    public init(shape: [Int], generator body: (Int) -> Float) {
        self = Tensor.empty(shape: shape)
        let base = storage.baseAddress
        for i in 0..<count { base[i] = body(i) }
    }

    /// The product of `shape`, or nil for a negative dimension or a product that overflows (a crafted shape).
    public static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dimension in shape {
            guard dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    init(shape: [Int], storage: TensorStorage) {
        self.shape = shape
        self.storage = storage
    }

    // MARK: - Reading and writing elements

    /// The elements in row-major order.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.baseAddress, count: count))
    }

    /// The element at a flat (row-major) index.
    public subscript(flat index: Int) -> Float {
        get {
            precondition(index >= 0 && index < count, "Tensor: flat index \(index) out of range 0..<\(count)")
            return storage.baseAddress[index]
        }
        set {
            precondition(index >= 0 && index < count, "Tensor: flat index \(index) out of range 0..<\(count)")
            makeUnique()
            storage.baseAddress[index] = newValue
        }
    }

    /// The element at a multi-dimensional index, one entry per dimension.
    public subscript(_ indices: Int...) -> Float {
        get { self[flat: flatIndex(indices)] }
        set { self[flat: flatIndex(indices)] = newValue }
    }

    /// Calls `body` with the elements, read-only.
    public func withUnsafeBufferPointer<R, E: Error>(_ body: (UnsafeBufferPointer<Float>) throws(E) -> R)
        throws(E) -> R
    {
        try body(UnsafeBufferPointer(start: storage.baseAddress, count: count))
    }

    /// Calls `body` with the elements, writable; copies the storage first if it is shared.
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws(E) -> R
    ) throws(E) -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.baseAddress, count: count))
    }

    /// The same elements viewed with another shape of equal element count (PyTorch `reshape` on a
    /// contiguous tensor); shares storage.
    public func reshaped(_ newShape: [Int]) throws(TensorError) -> Tensor {
        guard newShape.allSatisfy({ $0 >= 0 }), newShape.reduce(1, *) == count else {
            throw TensorError("reshape", "cannot view shape \(shape) as \(newShape)")
        }
        return Tensor(shape: newShape, storage: storage)
    }

    /// Whether this tensor is its storage's only holder: writing to it then copies nothing and no other tensor sees
    /// the writes (for reusing an output whose previous reader has let go of it).
    public mutating func holdsStorageAlone() -> Bool { isKnownUniquelyReferenced(&storage) }

    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = storage.copy() }
    }

    private func flatIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == rank, "Tensor: \(indices.count) indices for rank \(rank)")
        var flat = 0
        for (index, size) in zip(indices, shape) {
            precondition(index >= 0 && index < size, "Tensor: index \(indices) out of range for \(shape)")
            flat = flat * size + index
        }
        return flat
    }

    // MARK: - Equatable, description

    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        guard lhs.shape == rhs.shape else { return false }
        if lhs.storage === rhs.storage { return true }
        for i in 0..<lhs.count where lhs.storage.baseAddress[i] != rhs.storage.baseAddress[i] { return false }
        return true
    }

    public var description: String {
        let shown = scalars.prefix(8).map { "\($0)" }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(shown)\(count > 8 ? ", ..." : "")])"
    }
}
