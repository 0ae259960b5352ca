import Kernels
import Tensors
import TestSupport
import Testing

@Suite("Softmax kernel")
struct SoftmaxTests {
    @Test("softmax over channels matches PyTorch")
    func fixture() throws {
        let f = try Fixture("ops/softmax")
        let y = try softmaxForward(try f.tensor("x"))
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        expectClose(try softmaxBackward(try f.tensor("dy"), output: y), try f.tensor("dx"),
                    rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol, "dx")
        // Channels sum to one at every pixel.
        expectClose(try y.sum(alongAxes: [1]), Tensor(shape: [2, 7, 9], repeating: 1), rtol: 0, atol: 1e-5)
    }

    @Test("softmax gradient matches finite differences")
    func finiteDifferences() throws {
        var g = SeededGenerator(seed: 14)
        let x = Tensor.normal(shape: [2, 4, 3, 3], using: &g)
        try checkGradient(of: { x in
            let y = try softmaxForward(x)
            return (y, { dy in try softmaxBackward(dy, output: y) })
        }, at: x)
    }
}
