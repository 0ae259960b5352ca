/// The buffer behind a `Tensor`: `count` float32 values, 64-byte aligned so that oneDNN can use it
/// in place. Tensors share a storage until one of them mutates it (copy-on-write in `Tensor`).
public final class TensorStorage: @unchecked Sendable {
    /// First element. Valid for `count` elements for the lifetime of this object.
    public let baseAddress: UnsafeMutablePointer<Float>
    /// Number of float32 elements.
    public let count: Int

    /// Allocates `count` uninitialised elements.
    init(uninitializedCount count: Int) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: Swift.max(count, 1) * MemoryLayout<Float>.stride, alignment: 64)
        baseAddress = raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
    }

    /// Allocates `count` elements, each set to `value`.
    convenience init(count: Int, repeating value: Float) {
        self.init(uninitializedCount: count)
        baseAddress.initialize(repeating: value, count: count)
    }

    /// A new storage holding a copy of this one's elements.
    func copy() -> TensorStorage {
        let other = TensorStorage(uninitializedCount: count)
        other.baseAddress.update(from: baseAddress, count: count)
        return other
    }

    deinit {
        UnsafeMutableRawPointer(baseAddress).deallocate()
    }
}
