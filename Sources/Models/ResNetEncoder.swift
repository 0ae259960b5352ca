import NN
import Tensors

/// A torchvision ResNet or ResNeXt without its classifier (`fc`, `avgpool`), as segmentation_models_pytorch's
/// `ResNetEncoder` holds it: a 7x7 stride-2 stem convolution (no bias) + batch norm + ReLU, a 3x3 stride-2 max-pool,
/// and four layers of residual blocks, the first block of layers 2-4 with stride 2. Its state dict is torchvision's
/// (`conv1.weight`, `bn1.*`, `layer1.0.conv1.weight`, ...), which is also what an ImageNet weights file holds.
///
/// Features for `(N, C_in, H, W)`, by depth: 1: the stem's output at H/2 (64 channels); 2: layer 1 after the pool at
/// H/4; 3-5: layers 2-4 at H/8, H/16, H/32 (each size rounded up). All four layers are held whatever depth a model
/// uses, as smp keeps them.
public final class ResNetEncoder: Module {
    /// The torchvision ResNets and ResNeXts smp's `Unet` names by `encoder_name`.
    public enum Variant: String, CaseIterable, Sendable, Codable {
        case resnet18, resnet34, resnet50, resnet101, resnet152
        case resnext50_32x4d, resnext101_32x4d, resnext101_32x8d, resnext101_32x16d, resnext101_32x32d, resnext101_32x48d

        public var block: ResNetBlock.Kind { self == .resnet18 || self == .resnet34 ? .basic : .bottleneck }
        /// Blocks per layer.
        public var layers: [Int] {
            switch self {
            case .resnet18: [2, 2, 2, 2]
            case .resnet34, .resnet50, .resnext50_32x4d: [3, 4, 6, 3]
            case .resnet152: [3, 8, 36, 3]
            case .resnet101, .resnext101_32x4d, .resnext101_32x8d, .resnext101_32x16d, .resnext101_32x32d, .resnext101_32x48d: [3, 4, 23, 3]
            }
        }
        /// The 3x3 convolutions' groups and torchvision's `width_per_group` (1 and 64 for a ResNet).
        public var grouping: (groups: Int, widthPerGroup: Int) {
            switch self {
            case .resnet18, .resnet34, .resnet50, .resnet101, .resnet152: (1, 64)
            case .resnext50_32x4d, .resnext101_32x4d: (32, 4)
            case .resnext101_32x8d: (32, 8)
            case .resnext101_32x16d: (32, 16)
            case .resnext101_32x32d: (32, 32)
            case .resnext101_32x48d: (32, 48)
            }
        }
        /// Channels of features 1-5 (smp's `out_channels` without the input).
        public var featureChannels: [Int] { [64] + [64, 128, 256, 512].map { $0 * block.expansion } }
    }

    public let variant: Variant
    public let conv1: Conv2d
    public let bn1: BatchNorm2d
    /// `layer1` ... `layer4`.
    public let layers: [[ResNetBlock]]
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = [("conv1", conv1), ("bn1", bn1)]
        for (i, layer) in layers.enumerated() {
            children += layer.enumerated().map { ("layer\(i + 1).\($0.offset)", $0.element) }
        }
        return children
    }

    public init(_ variant: Variant, inputChannels: Int, generator: inout SeededGenerator) {
        self.variant = variant
        conv1 = Conv2d(inputChannels: inputChannels, outputChannels: 64, kernelSize: 7, stride: 2, padding: 3, bias: false,
                       generator: &generator)
        bn1 = BatchNorm2d(numFeatures: 64)
        var width = 64
        var layers: [[ResNetBlock]] = []
        for (i, count) in variant.layers.enumerated() {
            let planes = 64 << i
            var layer: [ResNetBlock] = []
            for b in 0..<count {
                let block = ResNetBlock(variant.block, inputChannels: width, planes: planes, stride: i > 0 && b == 0 ? 2 : 1,
                                        groups: variant.grouping.groups, widthPerGroup: variant.grouping.widthPerGroup, generator: &generator)
                width = block.outputChannels
                layer.append(block)
            }
            layers.append(layer)
        }
        self.layers = layers
    }
}
