import NN
import Tensors

/// One residual block of a torchvision ResNet — `BasicBlock` (two 3x3 convolutions) or `Bottleneck` (1x1, 3x3, 1x1
/// with 4x expansion; the stride on the 3x3, as torchvision's v1.5; ResNeXt's 3x3 in `groups` groups, its width
/// `planes · widthPerGroup / 64 · groups`) — or a bottleneck of the SE-ResNets and SE-ResNeXts of Cadene's
/// pretrainedmodels as segmentation_models_pytorch vendors them (`SEResNetBottleneck`, which strides its first
/// convolution, Caffe's placement; `SEResNeXtBottleneck`, which strides its 3x3), with squeeze-and-excitation on the
/// last map (its mean per channel → 1x1 convolution with bias to a sixteenth → ReLU → 1x1 with bias → sigmoid,
/// multiplying the map). Each convolution without bias and followed by batch norm, ReLU between; the input added back
/// — through `downsample` (1x1 convolution + batch norm) where the stride or the width changes — and a ReLU.
/// `(N, C_in, H, W)` → `(N, C_out, ⌈H/stride⌉, ⌈W/stride⌉)`.
///
/// Keys: `conv1`, `bn1`, `conv2`, `bn2`, [`conv3`, `bn3`], [`se_module.fc1`, `se_module.fc2`], [`downsample.0`,
/// `downsample.1`].
public final class ResNetBlock: Module {
    public enum Kind: Sendable {
        case basic
        case bottleneck

        /// Output channels over the block's `planes` (torchvision's `expansion`).
        public var expansion: Int { self == .basic ? 1 : 4 }
    }

    /// The squeeze-and-excitation's reduction (pretrainedmodels' `reduction`).
    public static let reduction = 16

    public let kind: Kind
    public let stride: Int
    /// `conv1`, `conv2` and, for a bottleneck, `conv3`, each with its batch norm.
    public let convolutions: [(Conv2d, BatchNorm2d)]
    /// `se_module.fc1` and `se_module.fc2`; nil without squeeze-and-excitation.
    public let excitation: (Conv2d, Conv2d)?
    public let downsample: (Conv2d, BatchNorm2d)?
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = []
        for (i, (conv, norm)) in convolutions.enumerated() {
            children += [("conv\(i + 1)", conv), ("bn\(i + 1)", norm)]
        }
        if let (fc1, fc2) = excitation { children += [("se_module.fc1", fc1), ("se_module.fc2", fc2)] }
        if let (conv, norm) = downsample { children += [("downsample.0", conv), ("downsample.1", norm)] }
        return children
    }

    /// A block of PyTorch's default initialisation for convolutions (torchvision's Kaiming-normal is a training recipe,
    /// not the layout) and batch norms at weight 1, bias 0.
    /// - Parameters:
    ///   - inputChannels: torchvision's `inplanes`.
    ///   - planes: the block's width; its output is `planes · kind.expansion`.
    ///   - groups, widthPerGroup: torchvision's (a bottleneck's; 1 and 64 for a ResNet, 32 and 4 for ResNeXt-50 32x4d).
    ///   - stridesFirst: a bottleneck strides its first convolution instead of its 3x3 (an SE-ResNet's).
    ///   - excites: squeeze-and-excitation on the last map (an SE network's).
    public init(_ kind: Kind, inputChannels: Int, planes: Int, stride: Int, groups: Int = 1, widthPerGroup: Int = 64,
                stridesFirst: Bool = false, excites: Bool = false, generator: inout SeededGenerator) {
        let output = planes * kind.expansion
        func unit(_ input: Int, _ output: Int, _ kernel: Int, _ stride: Int, groups: Int = 1, _ g: inout SeededGenerator)
            -> (Conv2d, BatchNorm2d)
        {
            (Conv2d(inputChannels: input, outputChannels: output, kernelSize: kernel, stride: stride, padding: kernel / 2,
                    bias: false, groups: groups, generator: &g), BatchNorm2d(numFeatures: output))
        }
        switch kind {
        case .basic:
            convolutions = [unit(inputChannels, planes, 3, stride, &generator), unit(planes, planes, 3, 1, &generator)]
        case .bottleneck:
            let width = Self.bottleneckWidth(planes: planes, groups: groups, widthPerGroup: widthPerGroup)
            convolutions = [unit(inputChannels, width, 1, stridesFirst ? stride : 1, &generator),
                            unit(width, width, 3, stridesFirst ? 1 : stride, groups: groups, &generator),
                            unit(width, output, 1, 1, &generator)]
        }
        excitation = excites
            ? (Conv2d(inputChannels: output, outputChannels: output / Self.reduction, kernelSize: 1, generator: &generator),
               Conv2d(inputChannels: output / Self.reduction, outputChannels: output, kernelSize: 1, generator: &generator))
            : nil
        downsample = stride != 1 || inputChannels != output ? unit(inputChannels, output, 1, stride, &generator) : nil
        (self.kind, self.stride) = (kind, stride)
    }

    /// A bottleneck's inner width (its 3x3 convolution's channels): torchvision's `planes · width_per_group / 64 · groups`.
    public static func bottleneckWidth(planes: Int, groups: Int, widthPerGroup: Int) -> Int { planes * widthPerGroup / 64 * groups }

    /// `planes · expansion`.
    public var outputChannels: Int { convolutions.last!.0.weight.value.shape[0] }
}
