import NN
import Tensors
import TestSupport
import Testing

@Suite("MaxPool2d, Upsample and ReLU layers")
struct SimpleLayerTests {
    @Test("MaxPool2d matches PyTorch and owns no tensors")
    func maxPool() throws {
        let f = try Fixture("ops/max_pool2d")
        let pool = MaxPool2d(kernelSize: 2)
        #expect(pool.stateDict().count == 0)
        let (y, pullback) = try pool.forward(try f.tensor("x"))
        expectClose(y, try f.tensor("y"), rtol: 0, atol: 0, "y")
        expectClose(try pullback(try f.tensor("dy")), try f.tensor("dx"), rtol: 0, atol: 0, "dx")
        expectClose(try pool(try f.tensor("x")), try f.tensor("y"), rtol: 0, atol: 0, "eval y")
    }

    @Test("Upsample (bilinear, align_corners) matches PyTorch")
    func upsample() throws {
        let f = try Fixture("ops/upsample_bilinear2d")
        let (y, pullback) = try Upsample(scaleFactor: 2).forward(try f.tensor("x"))
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        expectClose(try pullback(try f.tensor("dy")), try f.tensor("dx"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "dx")
    }

    @Test("ReLU matches PyTorch")
    func relu() throws {
        let f = try Fixture("ops/relu")
        let (y, pullback) = try ReLU().forward(try f.tensor("x"))
        expectClose(y, try f.tensor("y"), rtol: 0, atol: 0, "y")
        expectClose(try pullback(try f.tensor("dy")), try f.tensor("dx"), rtol: 0, atol: 0, "dx")
    }
}
