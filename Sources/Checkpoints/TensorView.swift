/// Rebuilds a tensor from `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`: the
/// elements of a strided view of a storage, copied into a contiguous row-major tensor.
enum TensorView {
    static func rebuild(_ args: [PickleValue]) throws(PickleReader.Failure) -> PickleValue {
        guard args.count >= 4, case .storage(let storage) = args[0], case .int(let offset) = args[1],
            case .tuple(let sizeValues) = args[2], case .tuple(let strideValues) = args[3]
        else { throw PickleReader.Failure(reason: "malformed _rebuild_tensor arguments") }
        let size = sizeValues.compactMap { if case .int(let i) = $0 { i } else { nil } }
        let stride = strideValues.compactMap { if case .int(let i) = $0 { i } else { nil } }
        guard let type = storage.elementType else {
            return .unsupportedTensor("unsupported storage type \(storage.typeName)")
        }
        guard size.count == sizeValues.count, stride.count == size.count, offset >= 0,
            size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 })
        else { throw PickleReader.Failure(reason: "malformed tensor view (size \(sizeValues), stride \(strideValues))") }
        let count = size.reduce(1, *)
        let width = type.byteWidth
        var bytes: [UInt8] = []
        if count > 0 {
            let last = offset + zip(size, stride).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
            guard last < storage.count else {
                throw PickleReader.Failure(reason: "tensor view \(size) at offset \(offset) exceeds its storage of \(storage.count) elements")
            }
            if stride == rowMajorStrides(size) {
                bytes = Array(storage.bytes[(offset * width)..<((offset + count) * width)])
            } else {
                bytes.reserveCapacity(count * width)
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

    static func rowMajorStrides(_ size: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: size.count)
        for axis in stride(from: size.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * size[axis + 1] }
        return strides
    }
}
