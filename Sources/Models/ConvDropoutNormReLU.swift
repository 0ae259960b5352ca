import NN
import Tensors

/// dynamic-network-architectures' `ConvDropoutNormReLU` as nnU-Net configures it (no dropout): a convolution with
/// "same" padding (`conv`), `InstanceNorm2d(affine=True)` (`norm`), LeakyReLU 0.01. PyTorch's state dict also lists
/// both under `all_modules.0` / `all_modules.1` (the same tensors); `ModelFile` reads and writes those aliases.
public final class ConvDropoutNormReLU: Module {
    public let conv: Conv2d
    public let norm: InstanceNorm2d
    public var isTraining = true

    public var namedChildren: [(String, any Module)] { [("conv", conv), ("norm", norm)] }

    public init(inputChannels: Int, outputChannels: Int, kernel: Int, stride: Int, bias: Bool, generator: inout SeededGenerator) {
        conv = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernel, stride: stride,
                      padding: (kernel - 1) / 2, bias: bias, generator: &generator)
        norm = InstanceNorm2d(numFeatures: outputChannels, affine: true)
    }
}
