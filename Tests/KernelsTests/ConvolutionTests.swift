import Kernels
import Tensors
import TestSupport
import Testing

@Suite("Convolution kernels")
struct ConvolutionTests {
    @Test("conv2d matches PyTorch: output, input, weight and bias gradients",
          arguments: ["conv2d_k3_p1_bias", "conv2d_k3_p0_nobias", "conv2d_k1_p0_bias"])
    func conv2dFixture(name: String) throws {
        let f = try Fixture("ops/" + name)
        let (x, weight, dy) = (try f.tensor("x"), try f.tensor("weight"), try f.tensor("dy"))
        let bias = f.has("bias") ? try f.tensor("bias") : nil
        let padding = try f.int("padding")
        let y = try conv2dForward(x, weight: weight, bias: bias, padding: padding)
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        let dx = try conv2dBackwardData(dy, weight: weight, inputShape: x.shape, padding: padding)
        expectClose(dx, try f.tensor("dx"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol, "dx")
        let (dWeight, dBias) = try conv2dBackwardWeights(
            dy, input: x, weightShape: weight.shape, withBias: bias != nil, padding: padding)
        expectClose(dWeight, try f.tensor("dweight"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol,
                    "dweight")
        #expect((dBias == nil) == (bias == nil))
        if let dBias {
            expectClose(dBias, try f.tensor("dbias"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol,
                        "dbias")
        }
    }

    @Test("conv_transpose2d (k2, s2) matches PyTorch")
    func convTransposeFixture() throws {
        let f = try Fixture("ops/conv_transpose2d_k2_s2_bias")
        let (x, weight, bias, dy) = (try f.tensor("x"), try f.tensor("weight"), try f.tensor("bias"), try f.tensor("dy"))
        let y = try convTranspose2dForward(x, weight: weight, bias: bias, stride: 2)
        expectClose(y, try f.tensor("y"), rtol: Tolerance.forward.rtol, atol: Tolerance.forward.atol, "y")
        let dx = try convTranspose2dBackwardData(dy, weight: weight, inputShape: x.shape, stride: 2)
        expectClose(dx, try f.tensor("dx"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol, "dx")
        let (dWeight, dBias) = try convTranspose2dBackwardWeights(
            dy, input: x, weightShape: weight.shape, withBias: true, stride: 2)
        expectClose(dWeight, try f.tensor("dweight"), rtol: Tolerance.backward.rtol, atol: Tolerance.backward.atol,
                    "dweight")
        expectClose(try #require(dBias), try f.tensor("dbias"), rtol: Tolerance.backward.rtol,
                    atol: Tolerance.backward.atol, "dbias")
    }

    @Test("conv2d agrees with a naive loop at random shapes", arguments: 0..<6)
    func conv2dAgainstReference(seed: Int) throws {
        var g = SeededGenerator(seed: UInt64(100 + seed))
        let n = 1 + Int(g.next() % 2), c = 1 + Int(g.next() % 5), o = 1 + Int(g.next() % 6)
        let h = 3 + Int(g.next() % 9), w = 3 + Int(g.next() % 9)
        let k = seed % 2 == 0 ? 3 : 1, padding = k == 3 ? Int(g.next() % 2) : 0
        let x = Tensor.normal(shape: [n, c, h, w], using: &g)
        let weight = Tensor.normal(shape: [o, c, k, k], using: &g)
        let bias = seed % 3 == 0 ? nil : Tensor.normal(shape: [o], using: &g)
        let y = try conv2dForward(x, weight: weight, bias: bias, padding: padding)
        expectClose(y, conv2dReference(x, weight: weight, bias: bias, stride: 1, padding: padding),
                    rtol: 1e-4, atol: 1e-4, "shape \([n, c, h, w]) -> \(o), k \(k), p \(padding)")
    }

    @Test("conv_transpose2d agrees with a naive loop at random shapes", arguments: 0..<4)
    func convTransposeAgainstReference(seed: Int) throws {
        var g = SeededGenerator(seed: UInt64(200 + seed))
        let c = 1 + Int(g.next() % 6), o = 1 + Int(g.next() % 6), h = 1 + Int(g.next() % 7), w = 1 + Int(g.next() % 7)
        let x = Tensor.normal(shape: [2, c, h, w], using: &g)
        let weight = Tensor.normal(shape: [c, o, 2, 2], using: &g)
        let bias = Tensor.normal(shape: [o], using: &g)
        let y = try convTranspose2dForward(x, weight: weight, bias: bias, stride: 2)
        expectClose(y, convTranspose2dReference(x, weight: weight, bias: bias, stride: 2), rtol: 1e-4, atol: 1e-4)
    }

    @Test("conv2d gradients match finite differences (input, weight, bias)", arguments: [0, 1])
    func conv2dFiniteDifferences(padding: Int) throws {
        var g = SeededGenerator(seed: 5)
        let x = Tensor.normal(shape: [2, 2, 4, 5], using: &g)
        let weight = Tensor.normal(shape: [3, 2, 3, 3], using: &g)
        let bias = Tensor.normal(shape: [3], using: &g)
        try checkGradient(of: { x in
            (try conv2dForward(x, weight: weight, bias: bias, padding: padding), { dy in
                try conv2dBackwardData(dy, weight: weight, inputShape: x.shape, padding: padding)
            })
        }, at: x)
        try checkGradient(of: { w in
            (try conv2dForward(x, weight: w, bias: bias, padding: padding), { dy in
                try conv2dBackwardWeights(dy, input: x, weightShape: w.shape, withBias: true, padding: padding).weight
            })
        }, at: weight)
        try checkGradient(of: { b in
            (try conv2dForward(x, weight: weight, bias: b, padding: padding), { dy in
                try #require(try conv2dBackwardWeights(dy, input: x, weightShape: weight.shape, withBias: true,
                                                       padding: padding).bias)
            })
        }, at: bias)
    }

    @Test("conv_transpose2d gradients match finite differences (input, weight, bias)")
    func convTransposeFiniteDifferences() throws {
        var g = SeededGenerator(seed: 6)
        let x = Tensor.normal(shape: [2, 3, 3, 4], using: &g)
        let weight = Tensor.normal(shape: [3, 2, 2, 2], using: &g)
        let bias = Tensor.normal(shape: [2], using: &g)
        try checkGradient(of: { x in
            (try convTranspose2dForward(x, weight: weight, bias: bias, stride: 2), { dy in
                try convTranspose2dBackwardData(dy, weight: weight, inputShape: x.shape, stride: 2)
            })
        }, at: x)
        try checkGradient(of: { w in
            (try convTranspose2dForward(x, weight: w, bias: bias, stride: 2), { dy in
                try convTranspose2dBackwardWeights(dy, input: x, weightShape: w.shape, withBias: true, stride: 2).weight
            })
        }, at: weight)
        try checkGradient(of: { b in
            (try convTranspose2dForward(x, weight: weight, bias: b, stride: 2), { dy in
                try #require(try convTranspose2dBackwardWeights(dy, input: x, weightShape: weight.shape,
                                                                withBias: true, stride: 2).bias)
            })
        }, at: bias)
    }

    @Test("a wrong channel count names the op and both shapes")
    func channelMismatch() throws {
        let error = #expect(throws: TensorError.self) {
            try conv2dForward(Tensor(shape: [1, 3, 8, 8]), weight: Tensor(shape: [4, 5, 3, 3]), bias: nil, padding: 1)
        }
        let text = try #require(error).description
        #expect(text.contains("conv2d") && text.contains("[1, 3, 8, 8]") && text.contains("[4, 5, 3, 3]"))
        #expect(throws: TensorError.self) {
            try conv2dForward(Tensor(shape: [1, 3, 2, 2]), weight: Tensor(shape: [4, 3, 3, 3]), bias: nil, padding: 0)
        }
        #expect(throws: TensorError.self) {
            try conv2dForward(Tensor(shape: [1, 3, 8, 8]), weight: Tensor(shape: [4, 3, 3, 3]),
                              bias: Tensor(shape: [5]), padding: 1)
        }
        #expect(throws: TensorError.self) {
            try convTranspose2dForward(Tensor(shape: [1, 3, 4, 4]), weight: Tensor(shape: [2, 3, 2, 2]), bias: nil,
                                       stride: 2)
        }
        #expect(throws: TensorError.self) {
            try conv2dBackwardData(Tensor(shape: [1, 4, 5, 5]), weight: Tensor(shape: [4, 3, 3, 3]),
                                   inputShape: [1, 3, 8, 8], padding: 1)
        }
    }
}
