import DNNL

/// Storage for one thing a compiled network holds while it runs: a value of the graph (or a value made again for
/// backward), a gradient, a normalization's saved statistics, a convolution's staged weights or weight gradient, a
/// primitive's scratchpad. Each buffer is written and read by steps, which declare it; the memory plan gives it
/// its place in the network's arena from those declarations, so buffers whose lifetimes do not overlap share
/// storage. `memory` points at a placeholder until the plan binds it.
final class Buffer {
    enum Kind: String {
        /// A value of the graph (or a value made again).
        case activation
        /// The gradient of a value.
        case gradient
        /// What backward needs from forward besides values: statistics, a pooling's or a fused ReLU's workspace,
        /// normalization parameters.
        case state
        /// A convolution's weights (staged for one use in training, loaded once for inference) or weight gradient.
        case weights
        /// A primitive's scratch memory, live only while it runs.
        case scratchpad
    }

    let id: Int
    let name: String
    let kind: Kind
    let descriptor: MemoryDescriptor
    /// The buffer's memory, at its place in the arena once `bind` ran.
    let memory: Memory
    /// Storage of its own for the network's life instead of a place in the arena (inference weights).
    let dedicated: Bool
    /// Memories over the same bytes with other descriptors (windows, reshaped views), re-pointed by `bind`.
    private var views: [Memory] = []

    var byteCount: Int { descriptor.byteCount }

    init(id: Int, name: String, kind: Kind, descriptor: MemoryDescriptor, dedicated: Bool, placeholder: Memory) throws {
        (self.id, self.name, self.kind, self.descriptor, self.dedicated) = (id, name, kind, descriptor, dedicated)
        memory = dedicated
            ? try Memory(descriptor)
            : try Memory(descriptor, pointer: placeholder.dataPointer, owner: placeholder)
    }

    /// A memory over this buffer's bytes with `descriptor` (a window of it, another view of the same elements),
    /// starting `offset` bytes in.
    func view(_ descriptor: MemoryDescriptor, offset: Int = 0) throws -> Memory {
        let view = try Memory(descriptor, pointer: memory.dataPointer + offset, owner: memory)
        viewOffsets.append(offset)
        views.append(view)
        return view
    }

    private var viewOffsets: [Int] = []

    /// Points the buffer (and its views) at `pointer`, in storage that `owner` keeps alive.
    func bind(_ pointer: UnsafeMutableRawPointer, owner: AnyObject) throws {
        try memory.setDataPointer(pointer, owner: owner)
        for (view, offset) in zip(views, viewOffsets) { try view.setDataPointer(pointer + offset, owner: owner) }
    }
}
