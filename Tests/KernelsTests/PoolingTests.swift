import Kernels
import Tensors
import TestSupport
import Testing

@Suite("Max pooling kernel")
struct PoolingTests {
    @Test("max_pool2d 2x2 matches PyTorch on odd sizes (floor)")
    func fixture() throws {
        let f = try Fixture("ops/max_pool2d")
        let x = try f.tensor("x")
        let (y, workspace) = try maxPool2dForward(x, training: true)
        #expect(y.shape == [2, 3, 3, 4])
        expectClose(y, try f.tensor("y"), rtol: 0, atol: 1e-6, "y")
        let dx = try maxPool2dBackward(try f.tensor("dy"), workspace: try #require(workspace))
        expectClose(dx, try f.tensor("dx"), rtol: 0, atol: 1e-6, "dx")
        let (inference, none) = try maxPool2dForward(x, training: false)
        #expect(inference == y)
        #expect(none == nil)
    }

    @Test("max_pool2d agrees with a naive loop", arguments: [(5, 7), (8, 8), (3, 2), (9, 4)])
    func reference(size: (Int, Int)) throws {
        var g = SeededGenerator(seed: UInt64(size.0 * 31 + size.1))
        let x = Tensor.normal(shape: [2, 3, size.0, size.1], using: &g)
        expectClose(try maxPool2dForward(x, training: false).0, maxPool2dReference(x, kernelSize: 2), rtol: 0, atol: 0)
    }

    @Test("max_pool2d gradient matches finite differences")
    func finiteDifferences() throws {
        // Distinct, well separated values: no ties inside a window.
        var g = SeededGenerator(seed: 9)
        let values = (0..<(2 * 2 * 5 * 7)).map { Float($0) * 0.1 }.shuffled(using: &g)
        let x = try Tensor(shape: [2, 2, 5, 7], scalars: values)
        try checkGradient(of: { x in
            let (y, workspace) = try maxPool2dForward(x, training: true)
            return (y, { dy in try maxPool2dBackward(dy, workspace: workspace!) })
        }, at: x)
    }

    @Test("an input smaller than the window is an error, not a crash")
    func tooSmall() {
        #expect(throws: TensorError.self) { try maxPool2dForward(Tensor(shape: [1, 1, 1, 5]), training: false) }
        #expect(throws: TensorError.self) { try maxPool2dForward(Tensor(shape: [3, 5]), training: false) }
    }
}
