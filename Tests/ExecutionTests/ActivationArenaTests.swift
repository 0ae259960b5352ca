import DNNL
@testable import Execution
import Testing

@Suite("Activation arena: shared slots")
struct ActivationArenaTests {
    func floats(_ count: Int) throws -> MemoryDescriptor { try MemoryDescriptor(dims: [count], format: .a) }

    @Test("members share a slot at their offsets; a placed member starts after the last of the others, rounded to 64 bytes")
    func placement() throws {
        let arena = ActivationArena()
        let a = try arena.memory(try floats(100), slot: 0)
        let b = try arena.memory(try floats(10), slot: 0, offset: 64)
        let c = try arena.memory(try floats(30), slot: 0)
        let d = try arena.memory(try floats(5), slot: 0)
        let own = try arena.memory(try floats(4), slot: nil)
        arena.place(c, after: [a, b])      // a ends at 400, b at 104: c at 448
        arena.place(d, after: [c])         // c ends at 568: d at 576
        try arena.allocate()
        let base = a.dataPointer
        #expect(b.dataPointer - base == 64)
        #expect(c.dataPointer - base == 448)
        #expect(d.dataPointer - base == 576)
        #expect(arena.slotBytes[0] == 596)
        #expect(own.dataPointer != base && arena.slotBytes.count == 1)
    }
}
