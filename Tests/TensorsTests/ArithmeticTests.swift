import Tensors
import TestSupport
import Testing

@Suite("Elementwise arithmetic")
struct ArithmeticTests {
    @Test("add matches PyTorch, and its gradient passes through to both operands")
    func addFixture() throws {
        let f = try Fixture("ops/add")
        let y = try f.tensor("a") + f.tensor("b")
        expectClose(y, try f.tensor("y"), rtol: 0, atol: 1e-6)
        // d(a + b)/da = d(a + b)/db = identity: PyTorch's gradients equal dy.
        expectClose(try f.tensor("da"), try f.tensor("dy"), rtol: 0, atol: 0)
        expectClose(try f.tensor("db"), try f.tensor("dy"), rtol: 0, atol: 0)
    }

    @Test("sub, mul, scale and in-place accumulation")
    func operators() throws {
        let a = try Tensor(shape: [3], scalars: [1, 2, 3])
        let b = try Tensor(shape: [3], scalars: [4, 5, 6])
        #expect(try (b - a).scalars == [3, 3, 3])
        #expect(try (a * b).scalars == [4, 10, 18])
        #expect((2 * a).scalars == [2, 4, 6])
        var c = a
        try c.add(b, scaledBy: 0.5)
        #expect(c.scalars == [3, 4.5, 6])
        try c += a
        #expect(c.scalars == [4, 6.5, 9])
        #expect(a.scalars == [1, 2, 3])
    }

    @Test("mismatched shapes name the op and both shapes")
    func mismatch() throws {
        let error = #expect(throws: TensorError.self) { try Tensor(shape: [2, 3]) + Tensor(shape: [3, 2]) }
        let text = try #require(error).description
        #expect(text.contains("add") && text.contains("[2, 3]") && text.contains("[3, 2]"))
        var t = Tensor(shape: [2])
        #expect(throws: TensorError.self) { try t.add(Tensor(shape: [3])) }
    }
}
