import NN
import Tensors

/// One bottleneck of the SE-ResNets and SE-ResNeXts of Cadene's pretrainedmodels, as segmentation_models_pytorch
/// vendors them (`SEResNetBottleneck`, `SEResNeXtBottleneck`): 1x1, 3x3 (ResNeXt's in 32 groups) and 1x1 convolutions
/// with 4x expansion, each without bias and followed by batch norm, ReLU between; squeeze-and-excitation on the last
/// (the map's mean per channel → 1x1 convolution with bias to a sixteenth → ReLU → 1x1 with bias → sigmoid,
/// multiplying the map); the input added back — through `downsample` (1x1 convolution + batch norm) where the stride
/// or the width changes — and a ReLU. An SE-ResNet strides its first convolution (Caffe's placement), an SE-ResNeXt
/// its 3x3. `(N, C_in, H, W)` → `(N, 4 · planes, ⌈H/stride⌉, ⌈W/stride⌉)`.
///
/// Keys: `conv1`, `bn1`, `conv2`, `bn2`, `conv3`, `bn3`, `se_module.fc1`, `se_module.fc2`, [`downsample.0`,
/// `downsample.1`].
public final class SEResNetBlock: Module {
    /// The squeeze-and-excitation's reduction (pretrainedmodels' `reduction`).
    public static let reduction = 16

    public let grouped: Bool
    public let stride: Int
    /// `conv1`, `conv2`, `conv3`, each with its batch norm.
    public let convolutions: [(Conv2d, BatchNorm2d)]
    /// `se_module.fc1` and `se_module.fc2`.
    public let excitation: (Conv2d, Conv2d)
    public let downsample: (Conv2d, BatchNorm2d)?
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = []
        for (i, (conv, norm)) in convolutions.enumerated() {
            children += [("conv\(i + 1)", conv), ("bn\(i + 1)", norm)]
        }
        children += [("se_module.fc1", excitation.0), ("se_module.fc2", excitation.1)]
        if let (conv, norm) = downsample { children += [("downsample.0", conv), ("downsample.1", norm)] }
        return children
    }

    /// A block of PyTorch's default initialisation.
    /// - Parameters:
    ///   - grouped: an SE-ResNeXt's block (32 groups of `planes / 16` channels in its 3x3), else an SE-ResNet's.
    public init(grouped: Bool, inputChannels: Int, planes: Int, stride: Int, generator: inout SeededGenerator) {
        let (width, output) = (Self.width(planes: planes, grouped: grouped), planes * 4)
        func unit(_ input: Int, _ output: Int, _ kernel: Int, _ stride: Int, groups: Int = 1, _ g: inout SeededGenerator)
            -> (Conv2d, BatchNorm2d)
        {
            (Conv2d(inputChannels: input, outputChannels: output, kernelSize: kernel, stride: stride, padding: kernel / 2,
                    bias: false, groups: groups, generator: &g), BatchNorm2d(numFeatures: output))
        }
        convolutions = [unit(inputChannels, width, 1, grouped ? 1 : stride, &generator),
                        unit(width, width, 3, grouped ? stride : 1, groups: grouped ? 32 : 1, &generator),
                        unit(width, output, 1, 1, &generator)]
        excitation = (Conv2d(inputChannels: output, outputChannels: output / Self.reduction, kernelSize: 1, generator: &generator),
                      Conv2d(inputChannels: output / Self.reduction, outputChannels: output, kernelSize: 1, generator: &generator))
        downsample = stride != 1 || inputChannels != output ? unit(inputChannels, output, 1, stride, &generator) : nil
        (self.grouped, self.stride) = (grouped, stride)
    }

    /// The inner width (the 3x3 convolution's channels): `planes` for an SE-ResNet, `⌊planes · 4 / 64⌋ · 32` for an
    /// SE-ResNeXt 32x4d.
    public static func width(planes: Int, grouped: Bool) -> Int { grouped ? planes * 4 / 64 * 32 : planes }
}
