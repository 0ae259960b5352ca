import Kernels
import Tensors
import TestSupport
import Testing

@Suite("Activation kernels")
struct ActivationTests {
    @Test("relu matches PyTorch")
    func relu() throws {
        let f = try Fixture("ops/relu")
        let x = try f.tensor("x")
        expectClose(try reluForward(x), try f.tensor("y"), rtol: 0, atol: 1e-6, "y")
        expectClose(try reluBackward(try f.tensor("dy"), input: x), try f.tensor("dx"), rtol: 0, atol: 1e-6, "dx")
    }

    @Test("sigmoid matches PyTorch")
    func sigmoid() throws {
        let f = try Fixture("ops/sigmoid")
        let y = try sigmoidForward(try f.tensor("x"))
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        expectClose(try sigmoidBackward(try f.tensor("dy"), output: y), try f.tensor("dx"),
                    rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol, "dx")
    }

    @Test("relu and sigmoid gradients match finite differences")
    func finiteDifferences() throws {
        var g = SeededGenerator(seed: 13)
        // Away from ReLU's kink at 0.
        let x = Tensor.normal(shape: [2, 3, 4, 5], using: &g).map { $0 >= 0 ? $0 + 0.1 : $0 - 0.1 }
        try checkGradient(of: { x in (try reluForward(x), { dy in try reluBackward(dy, input: x) }) }, at: x)
        try checkGradient(of: { x in
            let y = try sigmoidForward(x)
            return (y, { dy in try sigmoidBackward(dy, output: y) })
        }, at: x)
    }

    @Test("a gradient of the wrong shape is an error")
    func mismatch() {
        #expect(throws: TensorError.self) { try reluBackward(Tensor(shape: [2, 3]), input: Tensor(shape: [3, 2])) }
    }
}
