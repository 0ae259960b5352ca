import DNNL

/// Hands out the memories of a compiled network's activations, letting those whose lifetimes do not overlap
/// share storage. A memory in shared slot `k` is created with a placeholder buffer; `allocate()` then gives
/// each slot one buffer as large as its largest member (counting the member's byte offset into the slot, for
/// memories that must be live together) and points every member at it. Dedicated memories get their own
/// buffer at once.
final class ActivationArena {
    private var slots: [Int: [(memory: Memory, offset: Int)]] = [:]
    private let placeholder = try? Memory(MemoryDescriptor(dims: [16], format: .a))
    private var buffers: [Memory] = []

    /// A memory for `descriptor`: its own storage when `slot` is nil, else storage shared with slot `slot`,
    /// starting `offset` bytes into it (a multiple of 64).
    func memory(_ descriptor: MemoryDescriptor, slot: Int?, offset: Int = 0) throws -> Memory {
        guard let slot, let placeholder else { return try Memory(descriptor) }
        precondition(offset % 64 == 0, "ActivationArena: offset \(offset) not 64-byte aligned")
        let memory = try Memory(descriptor, pointer: placeholder.dataPointer, owner: placeholder)
        slots[slot, default: []].append((memory, offset))
        return memory
    }

    /// Bytes allocated for each shared slot.
    private(set) var slotBytes: [Int: Int] = [:]

    /// Allocates each shared slot and points its members at it. Call once, after every step is built.
    func allocate() throws {
        for (slot, members) in slots.sorted(by: { $0.key < $1.key }) {
            let bytes = members.map { $0.offset + $0.memory.descriptor.byteCount }.max() ?? 0
            let buffer = try Memory(MemoryDescriptor(dims: [max((bytes + 3) / 4, 1)], format: .a))
            buffers.append(buffer)
            slotBytes[slot] = bytes
            for member in members { try member.memory.setDataPointer(buffer.dataPointer + member.offset, owner: buffer) }
        }
        slots = [:]
    }
}
