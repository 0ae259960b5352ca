import DNNL
import Tensors

// Moving data between plain row-major `Tensor`s (the public boundary: inputs, logits, PyTorch-layout
// weights and gradients) and the engine's oneDNN memories, through reorders. A `PlainView` describes part
// of a tensor (e.g. some input channels of a weight) as a strided oneDNN descriptor plus an element offset.

/// A strided window onto a plain tensor's storage.
struct PlainView {
    let descriptor: MemoryDescriptor
    /// Element offset of the window's first element in the tensor.
    let offset: Int

    /// The whole tensor, row-major.
    static func whole(_ shape: [Int]) throws -> PlainView {
        try PlainView(descriptor: MemoryDescriptor(dims: shape, strides: rowMajorStrides(shape)), offset: 0)
    }

    /// Input channels `channels` of a `(O, I, kH, kW)` weight.
    static func inputChannels(_ channels: Range<Int>, ofWeight shape: [Int]) throws -> PlainView {
        let strides = rowMajorStrides(shape)
        return try PlainView(
            descriptor: MemoryDescriptor(dims: [shape[0], channels.count, shape[2], shape[3]], strides: strides),
            offset: channels.lowerBound * strides[1])
    }
}

func rowMajorStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    for axis in stride(from: shape.count - 2, through: 0, by: -1) { strides[axis] = strides[axis + 1] * shape[axis + 1] }
    return strides
}

/// Runs a reorder between two memories of the same logical tensor.
func copy(_ source: Memory, to destination: Memory) throws {
    try Primitive(.reorder(source: source.descriptor, destination: destination.descriptor))
        .execute([.source: source, .destination: destination])
}

/// A reorder kept for repeated use.
final class Reorder {
    let primitive: Primitive

    init(from source: MemoryDescriptor, to destination: MemoryDescriptor) throws {
        primitive = try Primitive(.reorder(source: source, destination: destination))
    }

    func callAsFunction(_ source: Memory, _ destination: Memory) throws {
        try primitive.execute([.source: source, .destination: destination])
    }
}

/// Reorders `view` of `weight` into `destination`; through a dense copy of `dims` where oneDNN has no reorder from
/// the strided view.
func stageWeights(_ weight: Tensor, _ view: PlainView, into destination: Memory, dims: [Int]) throws {
    do {
        try weight.copy(view, to: destination)
    } catch is DNNLError {
        let dense = try Memory(MemoryDescriptor(dims: dims, strides: rowMajorStrides(dims)))
        try weight.copy(view, to: dense)
        try copy(dense, to: destination)
    }
}

/// Reorders `source` into `view` of the row-major float32 buffer at `base`.
func store(_ source: Memory, into base: UnsafeMutablePointer<Float>, view: PlainView) throws {
    try Memory.borrowing(view.descriptor, UnsafeMutableRawPointer(base + view.offset)) { try copy(source, to: $0) }
}

extension Tensor {
    /// Reorders `view` of this tensor into `destination` (converting element type and layout).
    func copy(_ view: PlainView, to destination: Memory) throws {
        try withUnsafeBufferPointer { buffer in
            let pointer = UnsafeMutableRawPointer(mutating: buffer.baseAddress! + view.offset)
            try Memory.borrowing(view.descriptor, pointer) { try Execution.copy($0, to: destination) }
        }
    }

    /// A plain float32 copy of `memory`, which holds a tensor of `shape` in any layout and element type.
    static func copy(of memory: Memory, shape: [Int]) throws -> Tensor {
        var tensor = Tensor.empty(shape: shape)
        try tensor.assign(try .whole(shape), from: memory)
        return tensor
    }

    /// Copies this whole tensor into `memory` (converting layout and element type).
    func copy(to memory: Memory) throws { try copy(try .whole(shape), to: memory) }

    /// Reorders `source` into `view` of this tensor (copying the storage first if it is shared).
    mutating func assign(_ view: PlainView, from source: Memory) throws {
        try withUnsafeMutableBufferPointer { try store(source, into: $0.baseAddress!, view: view) }
    }
}
