import NN
import Tensors

/// torchvision's `MobileNetV2` (width multiplier 1) without its classifier, as segmentation_models_pytorch's
/// `MobileNetV2Encoder` holds it: `features.0`, a 3x3 stride-2 convolution to 32 channels + batch norm + ReLU6;
/// `features.1` … `features.17`, the `InvertedResidual` blocks of the paper's table; `features.18`, a 1x1 convolution
/// to 1280 channels + batch norm + ReLU6. Its state dict is torchvision's, which is also what an ImageNet weights file
/// holds (with `classifier.1.*`, which smp drops).
///
/// Features for `(N, C_in, H, W)`, by depth (smp's `_out_indexes`, the outputs of `features.1`, `.3`, `.6`, `.13`,
/// `.18`): 16 channels at H/2, 24 at H/4, 32 at H/8, 96 at H/16, 1280 at H/32 (each size rounded up). Every block is
/// held whatever depth a model uses, as smp keeps them.
public final class MobileNetV2Encoder: Module {
    /// torchvision's `inverted_residual_setting`: expansion, output channels, blocks, the first block's stride.
    static let stages = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    public static let stemChannels = 32
    public static let headChannels = 1280
    /// smp's `_out_indexes`: the `features` indexes whose outputs are features 1-5.
    public static let outIndexes = [1, 3, 6, 13, 18]
    /// Channels of features 1-5 (smp's `out_channels` without the input).
    public static let featureChannels = [16, 24, 32, 96, 1280]

    /// Every block's arguments, `features.1` first.
    public static var blocks: [InvertedResidual.Arguments] {
        var input = stemChannels
        var blocks: [InvertedResidual.Arguments] = []
        for (expansion, output, count, stride) in stages {
            for i in 0..<count {
                blocks.append(.init(inputChannels: input, outputChannels: output, stride: i == 0 ? stride : 1, expandRatio: expansion))
                input = output
            }
        }
        return blocks
    }

    public let stem: Conv2dNormActivation
    public let blocks: [InvertedResidual]
    public let head: Conv2dNormActivation
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        let modules: [any Module] = [stem] + blocks + [head]
        return modules.enumerated().map { ("features.\($0.offset)", $0.element) }
    }

    public init(inputChannels: Int, generator: inout SeededGenerator) {
        stem = Conv2dNormActivation(inputChannels: inputChannels, outputChannels: Self.stemChannels, kernelSize: 3, stride: 2,
                                    generator: &generator)
        let arguments = Self.blocks
        blocks = arguments.map { InvertedResidual($0, generator: &generator) }
        head = Conv2dNormActivation(inputChannels: arguments.last!.outputChannels, outputChannels: Self.headChannels, kernelSize: 1,
                                    generator: &generator)
    }
}
