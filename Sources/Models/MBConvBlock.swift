import NN
import Tensors

/// One mobile inverted bottleneck of efficientnet-pytorch's `EfficientNet` (`MBConvBlock`, as smp 0.6.0 vendors it):
/// a 1x1 expansion convolution + batch norm + SiLU (absent at expansion 1), a depthwise `k`x`k` convolution + batch norm +
/// SiLU, squeeze-and-excitation (the map's mean per channel → 1x1 convolution with bias → SiLU → 1x1 with bias →
/// sigmoid, multiplying the map), a 1x1 projection + batch norm, and the input added back where the stride is 1 and
/// the width unchanged. Convolutions have no bias; batch norms take `eps = 1e-3`, `momentum = 0.01`.
/// `(N, C_in, H, W)` → `(N, C_out, ⌈H/stride⌉, ⌈W/stride⌉)` for the sizes its static padding was planned for.
///
/// Keys: [`_expand_conv`, `_bn0`], `_depthwise_conv`, `_bn1`, `_se_reduce`, `_se_expand`, `_project_conv`, `_bn2`.
public final class MBConvBlock: Module {
    /// What efficientnet-pytorch's `BlockArgs` say of one block, with the widths already scaled, and the zero padding
    /// its `Conv2dStaticSamePadding` computed for the depthwise convolution. timm's blocks (`TimmEfficientNetBlock`)
    /// are described by the same arguments.
    public struct Arguments: Hashable, Sendable {
        public var kernel: Int
        public var stride: Int
        public var expandRatio: Int
        public var inputChannels: Int
        public var outputChannels: Int
        /// The squeeze-and-excitation's hidden width: `max(1, ⌊inputChannels · se_ratio⌋)`; 0 where a block has none
        /// (timm's EfficientNet-Lite).
        public var squeezedChannels: Int
        /// TensorFlow's "same" padding for the image size the variant plans, before and after on both axes: `(k − 1) / 2`
        /// each side at stride 1, and at stride 2 whatever that size asks (0 and 1 for a 3x3 at an even size).
        public var paddingBefore: Int
        public var paddingAfter: Int

        public var expandedChannels: Int { inputChannels * expandRatio }
        /// Whether the input is added back (efficientnet-pytorch's `id_skip`, stride 1 and an unchanged width).
        public var hasSkip: Bool { stride == 1 && inputChannels == outputChannels }
    }

    /// efficientnet-pytorch's batch-norm settings (TensorFlow's momentum 0.99 as PyTorch's `1 − 0.99`).
    public static let normEpsilon: Float = 1e-3
    public static let normMomentum: Float = 0.01

    public let arguments: Arguments
    public let expansion: (Conv2d, BatchNorm2d)?
    public let depthwise: Conv2d
    public let bn1: BatchNorm2d
    public let squeeze: Conv2d
    public let excite: Conv2d
    public let projection: Conv2d
    public let bn2: BatchNorm2d
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = expansion.map { [("_expand_conv", $0.0), ("_bn0", $0.1)] } ?? []
        children += [("_depthwise_conv", depthwise), ("_bn1", bn1), ("_se_reduce", squeeze), ("_se_expand", excite),
                     ("_project_conv", projection), ("_bn2", bn2)]
        return children
    }

    /// A block of PyTorch's default initialisation.
    public init(_ arguments: Arguments, generator: inout SeededGenerator) {
        self.arguments = arguments
        let expanded = arguments.expandedChannels
        func norm(_ channels: Int) -> BatchNorm2d {
            BatchNorm2d(numFeatures: channels, epsilon: Self.normEpsilon, momentum: Self.normMomentum)
        }
        expansion = arguments.expandRatio == 1 ? nil
            : (Conv2d(inputChannels: arguments.inputChannels, outputChannels: expanded, kernelSize: 1, bias: false, generator: &generator),
               norm(expanded))
        depthwise = Conv2d(inputChannels: expanded, outputChannels: expanded, kernelSize: arguments.kernel, stride: arguments.stride,
                           bias: false, groups: expanded, generator: &generator)
        bn1 = norm(expanded)
        squeeze = Conv2d(inputChannels: expanded, outputChannels: arguments.squeezedChannels, kernelSize: 1, generator: &generator)
        excite = Conv2d(inputChannels: arguments.squeezedChannels, outputChannels: expanded, kernelSize: 1, generator: &generator)
        projection = Conv2d(inputChannels: expanded, outputChannels: arguments.outputChannels, kernelSize: 1, bias: false,
                            generator: &generator)
        bn2 = norm(arguments.outputChannels)
    }

    /// The block's trainable parameters, counted from its arguments.
    public static func parameterCount(_ a: Arguments) -> Double {
        let (input, expanded, squeezed, output) = (Double(a.inputChannels), Double(a.expandedChannels), Double(a.squeezedChannels),
                                                   Double(a.outputChannels))
        let expansion = a.expandRatio == 1 ? 0 : input * expanded + 2 * expanded
        let excitation = a.squeezedChannels == 0 ? 0 : 2 * expanded * squeezed + squeezed + expanded
        return expansion + expanded * Double(a.kernel * a.kernel) + 2 * expanded + excitation + expanded * output + 2 * output
    }
}
