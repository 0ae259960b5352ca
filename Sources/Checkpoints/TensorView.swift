/// Rebuilds a tensor from `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`: the
/// elements of a strided view of a storage, copied into a contiguous row-major tensor. Every number comes
/// from the file, so all arithmetic on them is overflow-checked, and the bytes a view materialises are taken
/// from a budget: views that overlap (stride 0) cannot ask for more memory than the file holds.
enum TensorView {
    /// - Parameter budget: bytes of tensor data still allowed; the view's bytes are subtracted.
    static func rebuild(_ args: [PickleValue], budget: inout Int) throws(PickleReader.Failure) -> PickleValue {
        guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
            case .tuple(let sizeValues) = args[2], case .tuple(let strideValues) = args[3]
        else { throw PickleReader.Failure(reason: "malformed _rebuild_tensor arguments") }
        let size = sizeValues.compactMap { if case .int(let i) = $0 { i } else { nil } }
        let stride = strideValues.compactMap { if case .int(let i) = $0 { i } else { nil } }
        guard let type = storage.elementType else {
            return .unsupportedTensor("unsupported storage type \(storage.typeName)")
        }
        guard size.count == sizeValues.count, stride.count == size.count, size.count <= maximumDimensions, offset >= 0,
            size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 })
        else { throw PickleReader.Failure(reason: "malformed tensor view (size \(PickleValue.tuple(sizeValues)), stride \(PickleValue.tuple(strideValues)))") }
        let width = type.byteWidth
        guard let count = Checked.product(size), let byteCount = Checked.product([count, width]) else {
            throw PickleReader.Failure(reason: "tensor view of size \(size) has more elements than memory can hold")
        }
        var bytes: [UInt8] = []
        if count > 0 {
            // The view's last element, which must lie inside the storage.
            let extents = zip(size, stride).map { Checked.product([$0 - 1, $1]) }
            guard let last = Checked.sum([offset] + extents.map { $0 ?? -1 }), !extents.contains(nil), last < storage.count
            else {
                throw PickleReader.Failure(
                    reason: "tensor view \(size) at offset \(offset) exceeds its storage of \(storage.count) elements")
            }
            guard byteCount <= budget else {
                throw PickleReader.Failure(reason: "tensor views materialise more bytes than the file holds "
                    + "(overlapping views of size \(size) over a storage of \(storage.count) elements)")
            }
            budget -= byteCount
            // Every index below is at most `last`, so the products and sums cannot overflow.
            if stride == rowMajorStrides(size) {
                bytes = Array(storage.bytes[(offset * width)..<((offset + count) * width)])
            } else {
                bytes.reserveCapacity(byteCount)
                var index = [Int](repeating: 0, count: size.count)
                for _ in 0..<count {
                    let element = offset + zip(index, stride).reduce(0) { $0 + $1.0 * $1.1 }
                    bytes += storage.bytes[(element * width)..<((element + 1) * width)]
                    for axis in (0..<size.count).reversed() {
                        index[axis] += 1
                        if index[axis] < size[axis] { break }
                        index[axis] = 0
                    }
                }
            }
        }
        do {
            return .tensor(try StoredTensor(elementType: type, shape: size, bytes: bytes))
        } catch {
            throw PickleReader.Failure(reason: "\(error)")
        }
    }

    /// More dimensions than any tensor of a model has (PyTorch allows 64).
    static let maximumDimensions = 64

    /// Strides of a contiguous tensor of `size` (only called on sizes whose product fits an `Int`).
    static func rowMajorStrides(_ size: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: size.count)
        for axis in stride(from: size.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * size[axis + 1] }
        return strides
    }
}
