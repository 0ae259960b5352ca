import NN
import Tensors

/// segmentation_models_pytorch's `Conv2dReLU` with batch norm: a convolution without bias, `BatchNorm2d`, ReLU.
/// Keys: `0` (the convolution), `1` (the norm).
public final class Conv2dReLU: Module {
    public let conv: Conv2d
    public let norm: BatchNorm2d
    public var isTraining = true

    public var namedChildren: [(String, any Module)] { [("0", conv), ("1", norm)] }

    public init(inputChannels: Int, outputChannels: Int, kernelSize: Int, padding: Int, generator: inout SeededGenerator) {
        conv = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernelSize, padding: padding,
                      bias: false, generator: &generator)
        norm = BatchNorm2d(numFeatures: outputChannels)
    }
}
