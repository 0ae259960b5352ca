import Kernels
import Tensors
import TestSupport
import Testing

@Suite("Bilinear up-sampling (align_corners=True)")
struct UpsampleTests {
    @Test("x2 matches PyTorch's F.interpolate(..., align_corners=True)")
    func fixture() throws {
        let f = try Fixture("ops/upsample_bilinear2d")
        let x = try f.tensor("x")
        expectClose(try upsampleBilinear2dForward(x), try f.tensor("y"), rtol: Tolerance.forward.rtol,
                    atol: Tolerance.forward.atol, "y")
        expectClose(try upsampleBilinear2dBackward(try f.tensor("dy"), inputShape: x.shape), try f.tensor("dx"),
                    rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol, "dx")
    }

    @Test("agrees with a pointwise reference", arguments: [(1, 1), (1, 5), (4, 3), (6, 6)])
    func reference(size: (Int, Int)) throws {
        var g = SeededGenerator(seed: UInt64(size.0 * 10 + size.1))
        let x = Tensor.normal(shape: [2, 3, size.0, size.1], using: &g)
        expectClose(try upsampleBilinear2dForward(x), upsampleBilinearReference(x, scale: 2), rtol: 1e-5, atol: 1e-5)
    }

    @Test("gradient matches finite differences")
    func finiteDifferences() throws {
        var g = SeededGenerator(seed: 17)
        let x = Tensor.normal(shape: [2, 2, 3, 4], using: &g)
        try checkGradient(of: { x in
            (try upsampleBilinear2dForward(x), { dy in try upsampleBilinear2dBackward(dy, inputShape: x.shape) })
        }, at: x)
    }

    @Test("a gradient of the wrong size is an error")
    func mismatch() {
        #expect(throws: TensorError.self) {
            try upsampleBilinear2dBackward(Tensor(shape: [1, 1, 5, 5]), inputShape: [1, 1, 2, 2])
        }
    }
}
