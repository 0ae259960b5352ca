import Tensors

/// The element types checkpoints store, named as in safetensors headers.
public enum ElementType: String, Sendable, CaseIterable {
    case float32 = "F32", float16 = "F16", bfloat16 = "BF16", float64 = "F64"
    case int64 = "I64", int32 = "I32", int16 = "I16", int8 = "I8", uint8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var byteWidth: Int {
        switch self {
        case .float64, .int64: 8
        case .float32, .int32: 4
        case .float16, .bfloat16, .int16: 2
        case .int8, .uint8, .bool: 1
        }
    }
}

/// A tensor exactly as a checkpoint stores it: element type, shape and little-endian bytes. Keeping the
/// bytes lets a .pth → safetensors → .pth round trip stay bit-identical; `floatTensor()` converts for use.
public struct StoredTensor: Sendable, Equatable {
    public let elementType: ElementType
    public let shape: [Int]
    /// `shape.reduce(1, *) · elementType.byteWidth` bytes, little-endian, row-major.
    public let bytes: [UInt8]

    /// - Throws: `StoredTensorError` when the shape is invalid or the byte count does not fit it.
    public init(elementType: ElementType, shape: [Int], bytes: [UInt8]) throws(StoredTensorError) {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw StoredTensorError("negative dimension in shape \(shape)") }
        guard let expected = Checked.product(shape + [elementType.byteWidth]) else {
            throw StoredTensorError("shape \(shape) has more elements than memory can hold")
        }
        guard bytes.count == expected else {
            throw StoredTensorError("shape \(shape) of \(elementType.rawValue) needs \(expected) bytes, found \(bytes.count)")
        }
        self.elementType = elementType
        self.shape = shape
        self.bytes = bytes
    }

    /// A float32 tensor's bytes.
    public init(_ tensor: Tensor) {
        elementType = .float32
        shape = tensor.shape
        bytes = tensor.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) }
    }

    /// An int64 tensor (e.g. `num_batches_tracked`) from float values, rounded to integers.
    public init(int64 tensor: Tensor) {
        elementType = .int64
        shape = tensor.shape
        var out = [UInt8]()
        out.reserveCapacity(tensor.count * 8)
        for value in tensor.scalars {
            withUnsafeBytes(of: Int64(value.rounded()).littleEndian) { out.append(contentsOf: $0) }
        }
        bytes = out
    }

    /// Whether every value is finite (no NaN or infinity); integer tensors always are.
    public var isFinite: Bool {
        switch elementType {
        case .float32, .float64, .float16, .bfloat16: floatTensor().isFinite
        default: true
        }
    }

    /// The values as float32 (integers and wider floats converted; bool as 0/1).
    public func floatTensor() -> Tensor {
        bytes.withUnsafeBytes { raw in
            Tensor(shape: shape) { i in
                switch elementType {
                case .float32: Float(bitPattern: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                case .float64: Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian))
                case .bfloat16: Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
                case .float16: Float(Float16(bitPattern: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian))
                case .int64: Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                case .int32: Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                case .int16: Float(Int16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self)))
                case .int8: Float(raw.load(fromByteOffset: i, as: Int8.self))
                case .uint8, .bool: Float(raw[i])
                }
            }
        }
    }
}

/// Why bytes do not form a tensor of the stated shape and type.
public struct StoredTensorError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
