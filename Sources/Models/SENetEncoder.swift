import NN
import Tensors

/// An SE-ResNet or SE-ResNeXt of Cadene's pretrainedmodels without its classifier, as segmentation_models_pytorch's
/// `SENetEncoder` holds it (smp 0.6.0): `layer0` (a 7x7 stride-2 convolution to 64 channels + batch norm + ReLU, then a
/// 3x3 stride-2 max-pool without padding in ceil mode) and four layers of `ResNetBlock` bottlenecks with
/// squeeze-and-excitation (an SE-ResNet's strided first, an SE-ResNeXt's 3x3 in 32 groups), the first block of layers
/// 2-4 with stride 2. Its state dict is pretrainedmodels' (`layer0.conv1.weight`, `layer1.0.se_module.fc1.weight`,
/// ...), which is also what an ImageNet weights file holds (with `last_linear.*`, which smp drops).
///
/// Features for `(N, C_in, H, W)`, by depth: 1: `layer0`'s output before its pool at H/2 (64 channels); 2: layer 1
/// after the pool at H/4; 3-5: layers 2-4 at H/8, H/16, H/32 (each size rounded up). Every layer is held whatever
/// depth a model uses.
public final class SENetEncoder: Module {
    /// The SE networks smp names by `encoder_name` (not `senet154`, whose stem and blocks differ).
    public enum Variant: String, CaseIterable, Sendable, Codable {
        case seResNet50 = "se_resnet50", seResNet101 = "se_resnet101", seResNet152 = "se_resnet152"
        case seResNeXt50 = "se_resnext50_32x4d", seResNeXt101 = "se_resnext101_32x4d"

        /// Whether the blocks are SE-ResNeXt's (32 groups in the 3x3).
        public var grouped: Bool { self == .seResNeXt50 || self == .seResNeXt101 }
        /// The 3x3 convolutions' groups and the width of each (torchvision's `groups` and `width_per_group`): 32 of 4
        /// for an SE-ResNeXt 32x4d, 1 of 64 for an SE-ResNet.
        public var grouping: (groups: Int, widthPerGroup: Int) { grouped ? (32, 4) : (1, 64) }
        /// Blocks per layer.
        public var layers: [Int] {
            switch self {
            case .seResNet50, .seResNeXt50: [3, 4, 6, 3]
            case .seResNet101, .seResNeXt101: [3, 4, 23, 3]
            case .seResNet152: [3, 8, 36, 3]
            }
        }
        /// Channels of features 1-5 (smp's `out_channels` without the input).
        public static let featureChannels = [64, 256, 512, 1024, 2048]
    }

    public let variant: Variant
    /// `layer0.conv1` and `layer0.bn1`.
    public let stem: (Conv2d, BatchNorm2d)
    /// `layer1` ... `layer4`.
    public let layers: [[ResNetBlock]]
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = [("layer0.conv1", stem.0), ("layer0.bn1", stem.1)]
        for (i, layer) in layers.enumerated() {
            children += layer.enumerated().map { ("layer\(i + 1).\($0.offset)", $0.element) }
        }
        return children
    }

    public init(_ variant: Variant, inputChannels: Int, generator: inout SeededGenerator) {
        self.variant = variant
        stem = (Conv2d(inputChannels: inputChannels, outputChannels: 64, kernelSize: 7, stride: 2, padding: 3, bias: false,
                       generator: &generator), BatchNorm2d(numFeatures: 64))
        var width = 64
        layers = variant.layers.enumerated().map { i, count in
            (0..<count).map { b in
                let block = ResNetBlock(.bottleneck, inputChannels: width, planes: 64 << i, stride: i > 0 && b == 0 ? 2 : 1,
                                        groups: variant.grouping.groups, widthPerGroup: variant.grouping.widthPerGroup,
                                        stridesFirst: !variant.grouped, excites: true, generator: &generator)
                width = 256 << i
                return block
            }
        }
    }
}
