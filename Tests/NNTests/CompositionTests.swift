import Kernels
import NN
import Tensors
import TestSupport
import Testing

/// A miniature encoder-decoder built from the layers (conv-BN-ReLU, pool, up-convolution, skip concat,
/// 1x1 head), to check that pullbacks compose: gradients must match finite differences end to end.
@Suite("Composed layers")
struct CompositionTests {
    final class Tiny {
        var g = SeededGenerator(seed: 31)
        lazy var conv = Conv2d(inputChannels: 2, outputChannels: 4, kernelSize: 3, padding: 1, generator: &g)
        let bn = BatchNorm2d(numFeatures: 4)
        let relu = ReLU()
        let pool = MaxPool2d()
        lazy var up = ConvTranspose2d(inputChannels: 4, outputChannels: 4, kernelSize: 2, stride: 2, generator: &g)
        lazy var head = Conv2d(inputChannels: 8, outputChannels: 2, kernelSize: 1, generator: &g)

        func forward(_ x: Tensor) throws -> (Tensor, Pullback) {
            let (a, convBack) = try conv.forward(x)           // (N, 4, H, W)
            let (b, bnBack) = try bn.forward(a)
            let (skip, reluBack) = try relu.forward(b)
            let (p, poolBack) = try pool.forward(skip)        // (N, 4, H/2, W/2)
            let (u, upBack) = try up.forward(p)               // (N, 4, H, W)
            let (cat, catBack) = try Functional.concat([skip, u])
            let (y, headBack) = try head.forward(cat)         // (N, 2, H, W)
            return (y, { dy in
                let parts = try catBack(try headBack(dy))
                let dSkip = try parts[0] + (try poolBack(try upBack(parts[1])))
                return try convBack(try bnBack(try reluBack(dSkip)))
            })
        }
    }

    @Test("input gradient of the whole network matches finite differences")
    func endToEnd() throws {
        let net = Tiny()
        net.bn.eval()  // fixed statistics keep the function smooth for finite differences
        var g = SeededGenerator(seed: 32)
        let x = Tensor.normal(shape: [2, 2, 6, 4], using: &g)
        try checkGradient(of: { x in try net.forward(x) }, at: x, epsilon: 1e-2, rtol: 3e-2, atol: 3e-3, samples: 24)
    }

    @Test("a parameter gradient of the whole network matches finite differences")
    func parameterGradient() throws {
        let net = Tiny()
        net.bn.eval()
        var g = SeededGenerator(seed: 33)
        let x = Tensor.normal(shape: [2, 2, 6, 4], using: &g)
        let original = net.up.weight.value
        try checkGradient(of: { w in
            net.up.weight.value = w
            net.up.weight.zeroGrad()
            let (y, pullback) = try net.forward(x)
            return (y, { dy in _ = try pullback(dy); return net.up.weight.grad })
        }, at: original, epsilon: 1e-2, rtol: 3e-2, atol: 3e-3)
    }
}
