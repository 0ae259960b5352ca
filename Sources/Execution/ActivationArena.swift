import DNNL

/// Hands out the memories of a compiled network's activations, letting those whose lifetimes do not overlap
/// share storage. A memory in shared slot `k` is created with a placeholder buffer; `allocate()` then gives
/// each slot one buffer as large as its largest member (counting the member's byte offset into the slot, for
/// memories that must be live together) and points every member at it. A member may instead be placed
/// after others (`place(_:after:)`): it then starts where the last of them ends. Dedicated memories get their
/// own buffer at once.
final class ActivationArena {
    private struct Member {
        let memory: Memory
        var offset: Int
        /// Members this one starts after (nil: at `offset`).
        var after: [Memory]?
    }

    private var slots: [Int: [Member]] = [:]
    private let placeholder = try? Memory(MemoryDescriptor(dims: [16], format: .a))
    private var buffers: [Memory] = []

    /// A memory for `descriptor`: its own storage when `slot` is nil, else storage shared with slot `slot`,
    /// starting `offset` bytes into it (a multiple of 64).
    func memory(_ descriptor: MemoryDescriptor, slot: Int?, offset: Int = 0) throws -> Memory {
        guard let slot, let placeholder else { return try Memory(descriptor) }
        precondition(offset % 64 == 0, "ActivationArena: offset \(offset) not 64-byte aligned")
        let memory = try Memory(descriptor, pointer: placeholder.dataPointer, owner: placeholder)
        slots[slot, default: []].append(Member(memory: memory, offset: offset))
        return memory
    }

    /// Makes `memory`, a member of a shared slot, start at allocation where the last of `others` (members of
    /// the same slot) ends, rounded up to 64 bytes: for a map that is live while they are but not while the
    /// slot's other members are. Placements may chain; they must not form a cycle.
    func place(_ memory: Memory, after others: [Memory]) {
        for (slot, members) in slots {
            guard let index = members.firstIndex(where: { $0.memory === memory }) else { continue }
            slots[slot]![index].after = others
            return
        }
        preconditionFailure("ActivationArena.place: the memory is in no shared slot")
    }

    /// Bytes allocated for each shared slot.
    private(set) var slotBytes: [Int: Int] = [:]

    /// Allocates each shared slot and points its members at it. Call once, after every step is built.
    func allocate() throws {
        for (slot, members) in slots.sorted(by: { $0.key < $1.key }) {
            let offsets = Self.resolveOffsets(members)
            let bytes = zip(members, offsets).map { $1 + $0.memory.descriptor.byteCount }.max() ?? 0
            let buffer = try Memory(MemoryDescriptor(dims: [max((bytes + 3) / 4, 1)], format: .a))
            buffers.append(buffer)
            slotBytes[slot] = bytes
            for (member, offset) in zip(members, offsets) {
                try member.memory.setDataPointer(buffer.dataPointer + offset, owner: buffer)
            }
        }
        slots = [:]
    }

    /// Each member's offset: its own, or the end of the last member it is placed after.
    private static func resolveOffsets(_ members: [Member]) -> [Int] {
        var resolved: [ObjectIdentifier: Int] = [:]
        func offset(_ member: Member) -> Int {
            if let known = resolved[ObjectIdentifier(member.memory)] { return known }
            var value = member.offset
            if let after = member.after {
                value = after.map { other -> Int in
                    guard let m = members.first(where: { $0.memory === other }) else {
                        preconditionFailure("ActivationArena: placed after a memory outside the slot")
                    }
                    return offset(m) + other.descriptor.byteCount
                }.max().map { ($0 + 63) / 64 * 64 } ?? 0
            }
            resolved[ObjectIdentifier(member.memory)] = value
            return value
        }
        return members.map(offset)
    }
}
