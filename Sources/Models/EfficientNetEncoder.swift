import NN
import Tensors

/// efficientnet-pytorch's `EfficientNet` without its classifier, as segmentation_models_pytorch's
/// `EfficientNetEncoder` holds it (smp 0.6.0 vendors the package): a 3x3 stride-2 stem convolution + batch norm +
/// SiLU, the variant's `MBConvBlock`s, and the head's 1x1 convolution + batch norm, which smp keeps in the state dict
/// but never runs. Every convolution pads as TensorFlow's "same" does for the variant's own image size (224 pixels
/// for b0 … 600 for b7), planned once when the network is built (`Conv2dStaticSamePadding`): at stride 2 that can put
/// the extra pixel after the map only.
///
/// Features for `(N, C_in, H, W)`, by depth: 1: the stem's output at H/2; 2-5: the output of blocks `outIndexes`
/// (at H/4 … H/32). Keys: `_conv_stem`, `_bn0`, `_blocks.{i}.*`, `_conv_head`, `_bn1`.
public final class EfficientNetEncoder: Module {
    /// The encoders smp names `efficientnet-b0` … `efficientnet-b7`.
    public enum Variant: String, CaseIterable, Sendable, Codable {
        case b0 = "efficientnet-b0", b1 = "efficientnet-b1", b2 = "efficientnet-b2", b3 = "efficientnet-b3"
        case b4 = "efficientnet-b4", b5 = "efficientnet-b5", b6 = "efficientnet-b6", b7 = "efficientnet-b7"

        /// efficientnet-pytorch's `efficientnet_params`: width and depth multipliers and the image size.
        public var coefficients: (width: Double, depth: Double, imageSize: Int) {
            switch self {
            case .b0: (1.0, 1.0, 224)
            case .b1: (1.0, 1.1, 240)
            case .b2: (1.1, 1.2, 260)
            case .b3: (1.2, 1.4, 300)
            case .b4: (1.4, 1.8, 380)
            case .b5: (1.6, 2.2, 456)
            case .b6: (1.8, 2.6, 528)
            case .b7: (2.0, 3.1, 600)
            }
        }

        /// smp's `out_indexes`: the blocks whose outputs are features 2-5 (b0's third is the first block of its
        /// 112-channel stage, as smp has it; the others end a stage).
        public var outIndexes: [Int] {
            switch self {
            case .b0: [2, 4, 8, 15]
            case .b1, .b2: [4, 7, 15, 22]
            case .b3: [4, 7, 17, 25]
            case .b4: [5, 9, 21, 31]
            case .b5: [7, 12, 26, 38]
            case .b6: [8, 14, 30, 44]
            case .b7: [10, 17, 37, 54]
            }
        }

        /// efficientnet-pytorch's `round_filters`: `filters` scaled by the width multiplier to a multiple of 8, no
        /// more than 10% below the scaled width.
        public func roundedFilters(_ filters: Int) -> Int {
            let scaled = Double(filters) * coefficients.width
            var rounded = max(8, Int(scaled + 4) / 8 * 8)
            if Double(rounded) < 0.9 * scaled { rounded += 8 }
            return rounded
        }

        /// The stem's width (32 scaled) and the unused head's (1280 scaled).
        public var stemChannels: Int { roundedFilters(32) }
        public var headChannels: Int { roundedFilters(1280) }

        /// The stem's static padding (before, after): a 3x3 stride-2 convolution at the variant's image size.
        public var stemPadding: (before: Int, after: Int) { Self.samePadding(size: coefficients.imageSize, kernel: 3, stride: 2) }

        /// Every block's arguments, in order: EfficientNet-B0's seven stages (repeats, kernel, stride, expansion,
        /// input and output widths; squeeze-and-excitation ratio 0.25) with widths and repeats scaled, the static padding
        /// of each depthwise convolution computed for the image size reaching it.
        public var blocks: [MBConvBlock.Arguments] {
            let stages = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112),
                          (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
            var size = (coefficients.imageSize + 1) / 2  // after the stem
            var blocks: [MBConvBlock.Arguments] = []
            for (repeats, kernel, stride, expansion, input, output) in stages {
                let count = Int((coefficients.depth * Double(repeats)).rounded(.up))
                for i in 0..<count {
                    let (blockStride, width) = i == 0 ? (stride, roundedFilters(input)) : (1, roundedFilters(output))
                    let padding = Self.samePadding(size: size, kernel: kernel, stride: blockStride)
                    blocks.append(MBConvBlock.Arguments(kernel: kernel, stride: blockStride, expandRatio: expansion, inputChannels: width,
                                                        outputChannels: roundedFilters(output), squeezedChannels: max(1, width / 4),
                                                        paddingBefore: padding.before, paddingAfter: padding.after))
                    size = (size + blockStride - 1) / blockStride
                }
            }
            return blocks
        }

        /// Channels of features 1-5 (smp's `out_channels` without the input).
        public var featureChannels: [Int] {
            let blocks = blocks
            return [stemChannels] + outIndexes.map { blocks[$0].outputChannels }
        }

        /// TensorFlow's "same" padding of a `kernel` convolution of `stride` over `size` pixels, split as
        /// `Conv2dStaticSamePadding` splits it (the odd pixel after).
        static func samePadding(size: Int, kernel: Int, stride: Int) -> (before: Int, after: Int) {
            let output = (size + stride - 1) / stride
            let total = max((output - 1) * stride + kernel - size, 0)
            return (total / 2, total - total / 2)
        }
    }

    public let variant: Variant
    public let stem: Conv2d
    public let bn0: BatchNorm2d
    public let blocks: [MBConvBlock]
    /// `_conv_head` and `_bn1`: in smp's state dict, never run (the decoder reads the blocks' outputs).
    public let head: Conv2d
    public let bn1: BatchNorm2d
    /// efficientnet-pytorch's `drop_connect_rate` (smp's 0.2; 0: none): in training, block `i` of `n` with a skip
    /// drops its residual branch for whole images at `rate · i / n` before the add (stochastic depth).
    public let dropPathRate: Float
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        [("_conv_stem", stem), ("_bn0", bn0)] + blocks.enumerated().map { ("_blocks.\($0.offset)", $0.element) }
            + [("_conv_head", head), ("_bn1", bn1)]
    }

    public init(_ variant: Variant, inputChannels: Int, dropPathRate: Float = 0, generator: inout SeededGenerator) {
        (self.variant, self.dropPathRate) = (variant, dropPathRate)
        let (epsilon, momentum) = (MBConvBlock.normEpsilon, MBConvBlock.normMomentum)
        stem = Conv2d(inputChannels: inputChannels, outputChannels: variant.stemChannels, kernelSize: 3, stride: 2, bias: false,
                      generator: &generator)
        bn0 = BatchNorm2d(numFeatures: variant.stemChannels, epsilon: epsilon, momentum: momentum)
        let arguments = variant.blocks
        blocks = arguments.map { MBConvBlock($0, generator: &generator) }
        head = Conv2d(inputChannels: arguments.last!.outputChannels, outputChannels: variant.headChannels, kernelSize: 1, bias: false,
                      generator: &generator)
        bn1 = BatchNorm2d(numFeatures: variant.headChannels, epsilon: epsilon, momentum: momentum)
    }
}
