import NN
import Tensors
import TestSupport
import Testing

@Suite("BatchNorm2d layer")
struct BatchNorm2dTests {
    func layer(from f: Fixture) throws -> BatchNorm2d {
        let bn = BatchNorm2d(numFeatures: 3)
        try bn.load(StateDict([
            ("weight", try f.tensor("weight")), ("bias", try f.tensor("bias")),
            ("running_mean", try f.tensor("running_mean")), ("running_var", try f.tensor("running_var")),
            ("num_batches_tracked", Tensor(shape: [])),
        ]))
        return bn
    }

    @Test("state_dict keys are PyTorch's, in order")
    func keys() {
        #expect(BatchNorm2d(numFeatures: 3).stateDict().keys
            == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
        #expect(BatchNorm2d(numFeatures: 3).numBatchesTracked.isInteger)
    }

    @Test("training: batch statistics, PyTorch's running-stat update (unbiased var), gradients")
    func training() throws {
        let f = try Fixture("ops/batch_norm2d_train")
        let bn = try layer(from: f)
        let (y, pullback) = try bn.forward(try f.tensor("x"))
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        expectClose(bn.runningMean.value, try f.tensor("running_mean_after"), rtol: 1e-5, atol: 1e-6, "running_mean")
        expectClose(bn.runningVar.value, try f.tensor("running_var_after"), rtol: 1e-5, atol: 1e-6, "running_var")
        #expect(bn.numBatchesTracked.value[flat: 0] == (try f.tensor("num_batches_tracked_after"))[flat: 0])
        expectClose(try pullback(try f.tensor("dy")), try f.tensor("dx"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "dx")
        expectClose(bn.weight.grad, try f.tensor("dweight"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol)
        expectClose(bn.bias.grad, try f.tensor("dbias"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol)
    }

    @Test("eval: running statistics, unchanged by the forward pass")
    func evaluation() throws {
        let f = try Fixture("ops/batch_norm2d_eval")
        let bn = try layer(from: f)
        bn.eval()
        let (y, pullback) = try bn.forward(try f.tensor("x"))
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        #expect(bn.runningMean.value == (try f.tensor("running_mean")))
        #expect(bn.numBatchesTracked.value[flat: 0] == 0)
        expectClose(try pullback(try f.tensor("dy")), try f.tensor("dx"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "dx")
        expectClose(bn.weight.grad, try f.tensor("dweight"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol)
    }

    @Test("one value per channel cannot be normalised in training mode (PyTorch's error)")
    func singleValue() throws {
        let bn = BatchNorm2d(numFeatures: 2)
        let error = #expect(throws: TensorError.self) { try bn(Tensor(shape: [1, 2, 1, 1])) }
        #expect(try #require(error).description.contains("[1, 2, 1, 1]"))
        bn.eval()
        #expect(try bn(Tensor(shape: [1, 2, 1, 1])).shape == [1, 2, 1, 1])
    }
}
