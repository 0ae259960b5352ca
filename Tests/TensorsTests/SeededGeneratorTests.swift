import Tensors
import Testing

@Suite("Seeded random numbers")
struct SeededGeneratorTests {
    @Test("a seed fixes the sequence; a saved state resumes it")
    func reproducible() throws {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        #expect((0..<5).map { _ in a.next() } == (0..<5).map { _ in b.next() })
        var c = try #require(SeededGenerator(state: a.state))
        #expect(a.next() == c.next())
        #expect(SeededGenerator(seed: 1).state != SeededGenerator(seed: 2).state)
        #expect(SeededGenerator(state: [0, 0, 0, 0]) == nil)
    }

    @Test("uniform and normal tensors have the requested distribution")
    func distributions() {
        var g = SeededGenerator(seed: 3)
        let u = Tensor.uniform(shape: [10_000], low: -2, high: 3, using: &g)
        #expect(u.scalars.allSatisfy { $0 >= -2 && $0 < 3 })
        #expect(abs(u.mean() - 0.5) < 0.05)
        let n = Tensor.normal(shape: [20_000], mean: 1, standardDeviation: 2, using: &g)
        let variance = n.map { ($0 - 1) * ($0 - 1) }.mean()
        #expect(abs(n.mean() - 1) < 0.05)
        #expect(abs(variance - 4) < 0.15)
    }
}
