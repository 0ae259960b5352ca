import NN
import Tensors

/// timm's `EfficientNet` without its classifier, as segmentation_models_pytorch's `timm-efficientnet-b0` …
/// `-b8`, `-l2` and `timm-tf_efficientnet_lite0` … `lite4` encoders hold it (smp 0.6.0, timm 1.0): a 3x3 stride-2 stem
/// convolution + batch norm + activation (`conv_stem`, `bn1`), seven stages of `TimmEfficientNetBlock`s (`blocks.{stage}.{i}`)
/// and the head's 1x1 convolution + batch norm (`conv_head`, `bn2`), which smp keeps in the state dict but never runs.
/// Unlike efficientnet-pytorch's (`EfficientNetEncoder`), every convolution pads `k / 2` on each side, whatever the
/// image size, and batch norms take PyTorch's defaults. EfficientNet-Lite keeps the stem at 32 channels, the first and
/// last stages at one block and the head at 1280 channels, uses ReLU6 and has no squeeze-and-excitation.
///
/// Features for `(N, C_in, H, W)`, by depth: 1: the stem's output at H/2; 2-5: the outputs of stages 1, 2, 4 and 6
/// (smp's `stage_idxs`), at H/4 … H/32 (each size rounded up). Every stage is held whatever depth a model uses.
public final class TimmEfficientNetEncoder: Module {
    /// The encoders smp names `timm-efficientnet-b0` … and `timm-tf_efficientnet_lite0` ….
    public enum Variant: String, CaseIterable, Sendable, Codable {
        case b0 = "timm-efficientnet-b0", b1 = "timm-efficientnet-b1", b2 = "timm-efficientnet-b2", b3 = "timm-efficientnet-b3"
        case b4 = "timm-efficientnet-b4", b5 = "timm-efficientnet-b5", b6 = "timm-efficientnet-b6", b7 = "timm-efficientnet-b7"
        case b8 = "timm-efficientnet-b8", l2 = "timm-efficientnet-l2"
        case lite0 = "timm-tf_efficientnet_lite0", lite1 = "timm-tf_efficientnet_lite1", lite2 = "timm-tf_efficientnet_lite2"
        case lite3 = "timm-tf_efficientnet_lite3", lite4 = "timm-tf_efficientnet_lite4"

        /// smp's `channel_multiplier` and `depth_multiplier`.
        public var coefficients: (width: Double, depth: Double) {
            switch self {
            case .b0, .lite0: (1.0, 1.0)
            case .b1, .lite1: (1.0, 1.1)
            case .b2, .lite2: (1.1, 1.2)
            case .b3, .lite3: (1.2, 1.4)
            case .b4, .lite4: (1.4, 1.8)
            case .b5: (1.6, 2.2)
            case .b6: (1.8, 2.6)
            case .b7: (2.0, 3.1)
            case .b8: (2.2, 3.6)
            case .l2: (4.3, 5.3)
            }
        }

        /// EfficientNet-Lite: ReLU6, no squeeze-and-excitation, a fixed stem, head and first and last stage.
        public var isLite: Bool { rawValue.contains("lite") }

        /// timm's `round_channels`: `channels` scaled by the width multiplier to a multiple of 8, no more than 10%
        /// below the scaled width.
        public func roundedChannels(_ channels: Int) -> Int {
            let scaled = Double(channels) * coefficients.width
            var rounded = max(8, Int(scaled + 4) / 8 * 8)
            if Double(rounded) < 0.9 * scaled { rounded += 8 }
            return rounded
        }

        public var stemChannels: Int { isLite ? 32 : roundedChannels(32) }
        /// The unused head's width.
        public var headChannels: Int { isLite ? 1280 : roundedChannels(1280) }

        /// Blocks per stage: EfficientNet-B0's repeats scaled up by the depth multiplier (Lite keeps the first and last
        /// stages at one).
        public var stageCounts: [Int] {
            Self.stages.enumerated().map { i, stage in
                isLite && (i == 0 || i == Self.stages.count - 1) ? stage.repeats : Int((coefficients.depth * Double(stage.repeats)).rounded(.up))
            }
        }

        /// EfficientNet-B0's seven stages (timm's `arch_def`): repeats, kernel, stride, expansion, output channels.
        static let stages: [(repeats: Int, kernel: Int, stride: Int, expansion: Int, output: Int)] = [
            (1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320),
        ]

        /// Every block's arguments, stage by stage.
        public var stageBlocks: [[MBConvBlock.Arguments]] {
            var input = stemChannels
            return zip(Self.stages, stageCounts).map { stage, count in
                return (0..<count).map { i in
                    let output = roundedChannels(stage.output)
                    let block = MBConvBlock.Arguments(
                        kernel: stage.kernel, stride: i == 0 ? stage.stride : 1, expandRatio: stage.expansion, inputChannels: input,
                        outputChannels: output, squeezedChannels: isLite ? 0 : max(1, Int((Double(input) * 0.25).rounded())),
                        paddingBefore: stage.kernel / 2, paddingAfter: stage.kernel / 2)
                    input = output
                    return block
                }
            }
        }

        /// Channels of features 1-5 (smp's `out_channels` without the input).
        public var featureChannels: [Int] {
            let stages = stageBlocks
            return [stemChannels] + TimmEfficientNetEncoder.featureStages.map { stages[$0].last!.outputChannels }
        }
    }

    /// The stages whose outputs are features 2-5 (smp's `stage_idxs` and the forward around them).
    public static let featureStages = [1, 2, 4, 6]

    public let variant: Variant
    public let stem: Conv2d
    public let bn1: BatchNorm2d
    /// `blocks.{stage}.{i}`.
    public let blocks: [[TimmEfficientNetBlock]]
    /// `conv_head` and `bn2`: in smp's state dict, never run.
    public let head: Conv2d
    public let bn2: BatchNorm2d
    /// timm's `drop_path_rate` (smp's 0.2; 0: none): in training, block `i` of `n` (counted through the stages) with a
    /// skip drops its residual branch for whole images at `rate · i / n` before the add (stochastic depth).
    public let dropPathRate: Float
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = [("conv_stem", stem), ("bn1", bn1)]
        for (s, stage) in blocks.enumerated() {
            children += stage.enumerated().map { ("blocks.\(s).\($0.offset)", $0.element) }
        }
        return children + [("conv_head", head), ("bn2", bn2)]
    }

    public init(_ variant: Variant, inputChannels: Int, dropPathRate: Float = 0, generator: inout SeededGenerator) {
        (self.variant, self.dropPathRate) = (variant, dropPathRate)
        stem = Conv2d(inputChannels: inputChannels, outputChannels: variant.stemChannels, kernelSize: 3, stride: 2, padding: 1, bias: false,
                      generator: &generator)
        bn1 = BatchNorm2d(numFeatures: variant.stemChannels)
        let stages = variant.stageBlocks
        blocks = stages.map { $0.map { TimmEfficientNetBlock($0, generator: &generator) } }
        head = Conv2d(inputChannels: stages.last!.last!.outputChannels, outputChannels: variant.headChannels, kernelSize: 1, bias: false,
                      generator: &generator)
        bn2 = BatchNorm2d(numFeatures: variant.headChannels)
    }
}
