import Graph
import Testing

@Suite("Memory planner: interval packing")
struct MemoryPlannerTests {
    /// Buffers whose lifetimes overlap never overlap in the arena.
    static func valid(_ requests: [MemoryPlanner.Request], _ offsets: [Int]) -> Bool {
        for i in requests.indices {
            for j in requests.indices where i < j {
                let (a, b) = (requests[i], requests[j])
                guard a.first <= b.last && b.first <= a.last else { continue }
                if offsets[i] < offsets[j] + b.bytes && offsets[j] < offsets[i] + a.bytes { return false }
            }
        }
        return true
    }

    @Test("a chain of maps reuses storage: two live at a time")
    func chain() {
        // Each map is read by the next step only, as in a plain stack of convolutions.
        let requests = (0..<10).map { MemoryPlanner.Request(bytes: 1 << 20, first: $0, last: $0 + 1) }
        let (offsets, bytes) = MemoryPlanner.place(requests)
        #expect(Self.valid(requests, offsets))
        #expect(bytes == 2 << 20)
        #expect(MemoryPlanner.lowerBound(requests) == 2 << 20)
    }

    @Test("random lifetimes: never overlapping, within 1.3x of the most live at once, aligned")
    func random() {
        var state: UInt64 = 12345
        func next(_ n: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(n))
        }
        for _ in 0..<20 {
            let requests = (0..<60).map { _ -> MemoryPlanner.Request in
                let first = next(100)
                return MemoryPlanner.Request(bytes: 64 * (1 + next(1000)), first: first, last: first + next(20))
            }
            let (offsets, bytes) = MemoryPlanner.place(requests)
            #expect(Self.valid(requests, offsets))
            #expect(offsets.allSatisfy { $0 % 64 == 0 })
            #expect(bytes >= MemoryPlanner.lowerBound(requests))
            #expect(Double(bytes) <= 1.3 * Double(MemoryPlanner.lowerBound(requests)))
            #expect(bytes <= requests.map(\.bytes).reduce(0, +))
        }
    }
}
