import Graph
import NN
import Tensors

/// dynamic-network-architectures' `ConvDropoutNormReLU` as nnU-Net configures it (no dropout): a convolution with
/// "same" padding (`conv`), `InstanceNorm2d(affine=True)` (`norm`), and LeakyReLU 0.01 unless it is a residual
/// block's second convolution or a projection (`nonlin=None`). PyTorch's state dict also lists both under
/// `all_modules.0` / `all_modules.1` (the same tensors; see `NNUNetAliases`).
public final class ConvDropoutNormReLU: Module {
    public let conv: Conv2d
    public let norm: InstanceNorm2d
    public let hasNonlinearity: Bool
    public var isTraining = true

    public var namedChildren: [(String, any Module)] { [("conv", conv), ("norm", norm)] }

    /// `kernel` (odd sides) and `stride` are `[height, width]`.
    public init(inputChannels: Int, outputChannels: Int, kernel: [Int], stride: [Int], bias: Bool, nonlinearity: Bool = true,
                generator: inout SeededGenerator) {
        conv = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernel, stride: stride,
                      padding: kernel.map { ($0 - 1) / 2 }, bias: bias, generator: &generator)
        norm = InstanceNorm2d(numFeatures: outputChannels, affine: true)
        hasNonlinearity = nonlinearity
    }

    /// The block applied to `x`, its tensors under `key` (`…convs.0`).
    public func apply(_ b: GraphBuilder, _ x: Graph.Value, key: String) throws -> Graph.Value {
        let w = conv.weight.value.shape
        let p = conv.padding
        var y = try b.conv2d(x, Conv2dAttributes(weight: key + ".conv.weight", bias: conv.bias == nil ? nil : key + ".conv.bias",
                                                  outputChannels: w[0], kernel: [w[2], w[3]], stride: conv.stride, padding: [p[0], p[0], p[1], p[1]],
                                                  dilation: [1, 1], groups: 1),
                             name: key + ".conv")
        y = try b.instanceNorm(y, InstanceNormAttributes(affinePrefix: key + ".norm."), name: key + ".norm")
        return hasNonlinearity ? try b.leakyReLU(y, slope: 0.01, name: key + ".nonlin") : y
    }
}
