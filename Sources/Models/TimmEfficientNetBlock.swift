import NN
import Tensors

/// One block of timm's `EfficientNet` as segmentation_models_pytorch's `timm-efficientnet-*` and
/// `timm-tf_efficientnet_lite*` encoders build it (timm 1.0): a `DepthwiseSeparableConv` (expansion 1, the first
/// stage: depthwise `k`x`k` convolution + batch norm + activation, squeeze-and-excitation, 1x1 projection + batch norm)
/// or an `InvertedResidual` (1x1 expansion + batch norm + activation, depthwise convolution + batch norm + activation,
/// squeeze-and-excitation, 1x1 projection + batch norm), the input added back where the stride is 1 and the width
/// unchanged. Convolutions have no bias and pad `k / 2` on every side; batch norms take PyTorch's defaults. The
/// activation is SiLU (EfficientNet) or ReLU6 (EfficientNet-Lite, which has no squeeze-and-excitation); the
/// squeeze-and-excitation is the map's mean per channel → 1x1 convolution with bias → SiLU → 1x1 with bias → sigmoid,
/// multiplying the map. `(N, C_in, H, W)` → `(N, C_out, ⌈H/stride⌉, ⌈W/stride⌉)`.
///
/// Keys: depthwise-separable `conv_dw`, `bn1`, [`se.conv_reduce`, `se.conv_expand`], `conv_pw`, `bn2`; inverted
/// residual `conv_pw`, `bn1`, `conv_dw`, `bn2`, [`se.*`], `conv_pwl`, `bn3`.
public final class TimmEfficientNetBlock: Module {
    /// The block's widths, kernel and stride (its padding `kernel / 2` on every side; `squeezedChannels` 0 without
    /// squeeze-and-excitation).
    public let arguments: MBConvBlock.Arguments
    /// `conv_pw` and `bn1` of an inverted residual; nil in a depthwise-separable block.
    public let expansion: (Conv2d, BatchNorm2d)?
    public let depthwise: Conv2d
    public let depthwiseNorm: BatchNorm2d
    /// `se.conv_reduce` and `se.conv_expand`; nil without squeeze-and-excitation.
    public let excitation: (Conv2d, Conv2d)?
    public let projection: Conv2d
    public let projectionNorm: BatchNorm2d
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        let se: [(String, any Module)] = excitation.map { [("se.conv_reduce", $0.0), ("se.conv_expand", $0.1)] } ?? []
        guard let (conv, norm) = expansion else {
            return [("conv_dw", depthwise), ("bn1", depthwiseNorm)] + se + [("conv_pw", projection), ("bn2", projectionNorm)]
        }
        return [("conv_pw", conv), ("bn1", norm), ("conv_dw", depthwise), ("bn2", depthwiseNorm)] + se
            + [("conv_pwl", projection), ("bn3", projectionNorm)]
    }

    /// A block of PyTorch's default initialisation.
    public init(_ arguments: MBConvBlock.Arguments, generator: inout SeededGenerator) {
        self.arguments = arguments
        let expanded = arguments.expandedChannels
        expansion = arguments.expandRatio == 1 ? nil
            : (Conv2d(inputChannels: arguments.inputChannels, outputChannels: expanded, kernelSize: 1, bias: false, generator: &generator),
               BatchNorm2d(numFeatures: expanded))
        depthwise = Conv2d(inputChannels: expanded, outputChannels: expanded, kernelSize: arguments.kernel, stride: arguments.stride,
                           padding: arguments.kernel / 2, bias: false, groups: expanded, generator: &generator)
        depthwiseNorm = BatchNorm2d(numFeatures: expanded)
        let squeezed = arguments.squeezedChannels
        excitation = squeezed == 0 ? nil
            : (Conv2d(inputChannels: expanded, outputChannels: squeezed, kernelSize: 1, generator: &generator),
               Conv2d(inputChannels: squeezed, outputChannels: expanded, kernelSize: 1, generator: &generator))
        projection = Conv2d(inputChannels: expanded, outputChannels: arguments.outputChannels, kernelSize: 1, bias: false,
                            generator: &generator)
        projectionNorm = BatchNorm2d(numFeatures: arguments.outputChannels)
    }
}
