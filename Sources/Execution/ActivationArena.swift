import DNNL

/// Hands out the memories of a compiled network's activations, letting those whose lifetimes do not overlap
/// share storage. A memory in shared slot `k` is created with a placeholder buffer; `allocate()` then gives
/// each slot one buffer as large as its largest member and points every member at it. Dedicated memories
/// get their own buffer at once.
final class ActivationArena {
    private var slots: [Int: [Memory]] = [:]
    private let placeholder = try? Memory(MemoryDescriptor(dims: [16], format: .a))
    private var buffers: [Memory] = []

    /// A memory for `descriptor`: its own storage when `slot` is nil, else storage shared with slot `slot`.
    func memory(_ descriptor: MemoryDescriptor, slot: Int?) throws -> Memory {
        guard let slot, let placeholder else { return try Memory(descriptor) }
        let memory = try Memory(descriptor, pointer: placeholder.dataPointer, owner: placeholder)
        slots[slot, default: []].append(memory)
        return memory
    }

    /// Bytes allocated for each shared slot.
    private(set) var slotBytes: [Int: Int] = [:]

    /// Allocates each shared slot and points its members at it. Call once, after every step is built.
    func allocate() throws {
        for (slot, members) in slots.sorted(by: { $0.key < $1.key }) {
            let bytes = members.map(\.descriptor.byteCount).max() ?? 0
            let buffer = try Memory(MemoryDescriptor(dims: [max((bytes + 3) / 4, 1)], format: .a))
            buffers.append(buffer)
            slotBytes[slot] = bytes
            for member in members { try member.setDataPointer(buffer.dataPointer, owner: buffer) }
        }
        slots = [:]
    }
}
