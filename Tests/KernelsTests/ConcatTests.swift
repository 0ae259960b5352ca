import Kernels
import Tensors
import TestSupport
import Testing

@Suite("Channel concatenation")
struct ConcatTests {
    @Test("concat and its split match PyTorch")
    func fixture() throws {
        let f = try Fixture("ops/concat")
        let y = try concatForward([try f.tensor("a"), try f.tensor("b")])
        expectClose(y, try f.tensor("y"), rtol: 0, atol: 0, "y")
        let parts = try concatBackward(try f.tensor("dy"), channels: [3, 5])
        expectClose(parts[0], try f.tensor("da"), rtol: 0, atol: 0, "da")
        expectClose(parts[1], try f.tensor("db"), rtol: 0, atol: 0, "db")
    }

    @Test("concat gradient matches finite differences")
    func finiteDifferences() throws {
        var g = SeededGenerator(seed: 15)
        let a = Tensor.normal(shape: [2, 2, 3, 4], using: &g)
        let b = Tensor.normal(shape: [2, 3, 3, 4], using: &g)
        try checkGradient(of: { a in
            (try concatForward([a, b]), { dy in try concatBackward(dy, channels: [2, 3])[0] })
        }, at: a)
        try checkGradient(of: { b in
            (try concatForward([a, b]), { dy in try concatBackward(dy, channels: [2, 3])[1] })
        }, at: b)
    }

    @Test("different spatial sizes name the op and both shapes")
    func mismatch() throws {
        let error = #expect(throws: TensorError.self) {
            try concatForward([Tensor(shape: [2, 3, 4, 4]), Tensor(shape: [2, 5, 4, 6])])
        }
        let text = try #require(error).description
        #expect(text.contains("concat") && text.contains("[2, 3, 4, 4]") && text.contains("[2, 5, 4, 6]"))
        #expect(throws: TensorError.self) { try concatForward([]) }
        #expect(throws: TensorError.self) { try concatBackward(Tensor(shape: [1, 4, 2, 2]), channels: [1, 2]) }
    }
}
