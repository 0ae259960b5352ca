import DNNL
import Tensors

// Bridging between plain row-major `Tensor`s and oneDNN memories. A primitive created with `.any`
// layouts may want a blocked layout; these helpers reorder into it and back only when the layouts differ.

extension Tensor {
    /// This tensor's plain row-major layout as a oneDNN descriptor (`a`, `ab`, `abc` or `abcd`).
    func plainDescriptor() throws -> MemoryDescriptor {
        try MemoryDescriptor(dims: shape, format: plainFormat(rank: rank))
    }

    /// A oneDNN memory over this tensor's storage (no copy), described by `descriptor` (default: plain).
    /// The storage stays alive as long as the memory does.
    func memory(_ descriptor: MemoryDescriptor? = nil) throws -> Memory {
        try Memory(descriptor ?? plainDescriptor(), pointer: UnsafeMutableRawPointer(storage.baseAddress),
                   owner: storage)
    }
}

/// The plain row-major format tag for a tensor of `rank` dimensions.
func plainFormat(rank: Int) throws -> FormatTag {
    switch rank {
    case 1: return .a
    case 2: return .ab
    case 3: return .abc
    case 4: return .abcd
    default: throw TensorError("oneDNN", "tensors of rank \(rank) are not supported")
    }
}

/// Runs a reorder from `source` into `destination` (different layouts of the same logical tensor).
func reorder(_ source: Memory, into destination: Memory) throws {
    let primitive = try Primitive(.reorder(source: source.descriptor, destination: destination.descriptor))
    try primitive.execute([.source: source, .destination: destination])
}

/// The memory a primitive reads for `tensor`: the tensor's own storage (described by `user`, default
/// plain) when the primitive's `wanted` layout equals it, else a reordered copy in `wanted`.
func inputMemory(_ tensor: Tensor, wanted: MemoryDescriptor, user: MemoryDescriptor? = nil) throws -> Memory {
    let own = try tensor.memory(user)
    if own.descriptor == wanted { return own }
    let converted = try Memory(wanted)
    try reorder(own, into: converted)
    return converted
}

/// A primitive's output: a new tensor of `shape` and the memory the primitive writes. When the primitive
/// chose a layout other than the tensor's (`user`, default plain), it writes a scratch memory and
/// `result()` reorders that into the tensor.
struct OutputBinding {
    private(set) var tensor: Tensor
    /// The memory to pass to the primitive.
    let memory: Memory
    private let userMemory: Memory?

    init(shape: [Int], chosen: MemoryDescriptor, user: MemoryDescriptor? = nil) throws {
        tensor = Tensor.empty(shape: shape)
        let own = try tensor.memory(user)
        if own.descriptor == chosen {
            memory = own
            userMemory = nil
        } else {
            memory = try Memory(chosen)
            userMemory = own
        }
    }

    /// The tensor, holding what the primitive wrote.
    func result() throws -> Tensor {
        if let userMemory { try reorder(memory, into: userMemory) }
        return tensor
    }
}

/// Checks that `tensor` is 4-D `(N, C, H, W)` with non-empty dimensions, for the op named `operation`.
func requireNCHW(_ tensor: Tensor, _ operation: String, _ name: String = "input") throws {
    guard tensor.rank == 4, tensor.shape.allSatisfy({ $0 > 0 }) else {
        throw TensorError(operation, "\(name) must be (N, C, H, W) with non-zero sizes, got \(tensor.shape)")
    }
}
