import NN
import Tensors

/// torchvision's `Conv2dNormActivation` as MobileNetV2 builds it: a convolution without bias padded `(k − 1) / 2`,
/// `BatchNorm2d` and ReLU6 (which holds no tensors). Keys: `0` (the convolution), `1` (the norm).
/// `(N, C_in, H, W)` → `(N, C_out, ⌈H/stride⌉, ⌈W/stride⌉)` for odd kernels.
public final class Conv2dNormActivation: Module {
    public let conv: Conv2d
    public let norm: BatchNorm2d
    public var isTraining = true

    public var namedChildren: [(String, any Module)] { [("0", conv), ("1", norm)] }

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, stride: Int = 1, groups: Int = 1,
                generator: inout SeededGenerator) {
        conv = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize, stride: stride,
                      padding: (kernelSize - 1) / 2, bias: false, groups: groups, generator: &generator)
        norm = BatchNorm2d(numFeatures: outputChannels)
    }
}
