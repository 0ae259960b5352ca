import NN
import Tensors
import TestSupport
import Testing

@Suite("Conv2d and ConvTranspose2d layers")
struct ConvolutionLayerTests {
    @Test("Conv2d keys, forward and accumulated gradients match PyTorch",
          arguments: ["conv2d_k3_p1_bias", "conv2d_k3_p0_nobias", "conv2d_k1_p0_bias"])
    func conv2d(name: String) throws {
        let f = try Fixture("ops/" + name)
        var g = SeededGenerator(seed: 1)
        let hasBias = try f.int("bias") == 1
        let conv = Conv2d(inputChannels: 3, outputChannels: 4, kernelSize: try f.int("kernel_size"),
                          padding: try f.int("padding"), bias: hasBias, generator: &g)
        #expect(conv.stateDict().keys == (hasBias ? ["weight", "bias"] : ["weight"]))
        try conv.load(StateDict([("weight", try f.tensor("weight"))] + (hasBias ? [("bias", try f.tensor("bias"))] : [])))
        let (y, pullback) = try conv.forward(try f.tensor("x"))
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        let dx = try pullback(try f.tensor("dy"))
        expectClose(dx, try f.tensor("dx"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol, "dx")
        expectClose(conv.weight.grad, try f.tensor("dweight"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "dweight")
        if let bias = conv.bias {
            expectClose(bias.grad, try f.tensor("dbias"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol)
        }
        // A second pullback accumulates (PyTorch's .grad +=); zeroGrad resets.
        _ = try pullback(try f.tensor("dy"))
        expectClose(conv.weight.grad, 2 * (try f.tensor("dweight")), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "accumulated dweight")
        conv.zeroGrad()
        #expect(conv.weight.grad == Tensor(shape: conv.weight.value.shape))
    }

    @Test("ConvTranspose2d keys, forward and gradients match PyTorch")
    func convTranspose() throws {
        let f = try Fixture("ops/conv_transpose2d_k2_s2_bias")
        var g = SeededGenerator(seed: 1)
        let up = ConvTranspose2d(inputChannels: 3, outputChannels: 4, kernelSize: 2, stride: 2, generator: &g)
        #expect(up.weight.value.shape == [3, 4, 2, 2])
        try up.load(StateDict([("weight", try f.tensor("weight")), ("bias", try f.tensor("bias"))]))
        let (y, pullback) = try up.forward(try f.tensor("x"))
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        expectClose(try pullback(try f.tensor("dy")), try f.tensor("dx"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "dx")
        expectClose(up.weight.grad, try f.tensor("dweight"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol)
        expectClose(try #require(up.bias).grad, try f.tensor("dbias"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol)
    }

    @Test("default initialisation is PyTorch's: uniform in ±1/sqrt(fan_in)")
    func initialization() {
        var g = SeededGenerator(seed: 2)
        let conv = Conv2d(inputChannels: 8, outputChannels: 16, kernelSize: 3, generator: &g)
        let bound = 1 / Float(8 * 9).squareRoot()
        #expect(conv.weight.value.scalars.allSatisfy { abs($0) <= bound })
        #expect(conv.weight.value.scalars.map(abs).max()! > 0.9 * bound)
        let up = ConvTranspose2d(inputChannels: 16, outputChannels: 4, kernelSize: 2, stride: 2, generator: &g)
        let upBound = 1 / Float(4 * 4).squareRoot()  // PyTorch's fan_in for ConvTranspose2d is C_out·k·k
        #expect(up.weight.value.scalars.allSatisfy { abs($0) <= upBound })
        #expect(up.weight.value.scalars.map(abs).max()! > 0.9 * upBound)
    }

    /// ResNeXt's grouped convolution: the weight `(C_out, C_in / groups, k, k)` and PyTorch's bound from that fan-in;
    /// only a compiled graph runs it (the graph tests compare it with PyTorch), so the eager call refuses it.
    @Test("a grouped Conv2d holds PyTorch's weight shape and initialisation; its eager call is refused in one line")
    func groupedConv2d() throws {
        var g = SeededGenerator(seed: 3)
        let conv = Conv2d(inputChannels: 64, outputChannels: 32, kernelSize: 3, padding: 1, bias: false, groups: 32, generator: &g)
        #expect(conv.weight.value.shape == [32, 2, 3, 3])
        let bound = 1 / Float(2 * 3 * 3).squareRoot()
        #expect(conv.weight.value.scalars.allSatisfy { abs($0) <= bound } && conv.weight.value.scalars.map(abs).max()! > 0.9 * bound)
        let error = #expect(throws: TensorError.self) { try conv(Tensor(shape: [1, 64, 4, 4])) }
        #expect(error.map { "\($0)" }?.contains("groups 32: the eager convolution takes groups 1") == true, "\(String(describing: error))")
    }

    /// nnU-Net's `[1, 2]` strides and `[1, 3]` kernels: a transposed convolution of kernel = stride `(C_in, C_out, 1, 2)`
    /// with PyTorch's bound from `C_out·1·2`, and a `[1, 3]` convolution strided along one axis; only a compiled graph
    /// runs them (the nnU-Net parity tests compare it with the package), so the eager calls refuse them.
    @Test("a ConvTranspose2d or Conv2d whose kernel or stride differs between the axes holds PyTorch's shapes; its eager call is refused in one line")
    func anisotropic() throws {
        var g = SeededGenerator(seed: 4)
        let up = ConvTranspose2d(inputChannels: 8, outputChannels: 16, kernelSize: [1, 2], stride: [1, 2], generator: &g)
        #expect(up.weight.value.shape == [8, 16, 1, 2] && up.stride == [1, 2])
        let bound = 1 / Float(16 * 1 * 2).squareRoot()
        #expect(up.weight.value.scalars.allSatisfy { abs($0) <= bound } && up.weight.value.scalars.map(abs).max()! > 0.9 * bound)
        let refused = #expect(throws: TensorError.self) { try up(Tensor(shape: [1, 8, 4, 4])) }
        #expect(refused.map { "\($0)" }?.contains("kernel 1x2, stride [1, 2]: the eager transposed convolution takes square ones") == true,
                "\(String(describing: refused))")
        let conv = Conv2d(inputChannels: 4, outputChannels: 8, kernelSize: [1, 3], stride: [2, 1], padding: [0, 1], generator: &g)
        #expect(conv.weight.value.shape == [8, 4, 1, 3] && conv.stride == [2, 1] && conv.padding == [0, 1])
        let convBound = 1 / Float(4 * 1 * 3).squareRoot()
        #expect(conv.weight.value.scalars.allSatisfy { abs($0) <= convBound })
        #expect(throws: TensorError.self) { try conv(Tensor(shape: [1, 4, 4, 4])) }
        let square = Conv2d(inputChannels: 4, outputChannels: 8, kernelSize: 3, stride: 2, padding: 1, generator: &g)
        #expect(try square(Tensor(shape: [1, 4, 4, 4])).shape == [1, 8, 2, 2])
    }
}
