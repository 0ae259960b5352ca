import NN
import Tensors

/// One inverted residual block of torchvision's MobileNetV2 (`InvertedResidual`): a 1x1 expansion to
/// `inputChannels · expandRatio` channels + batch norm + ReLU6 (absent at expansion 1), a depthwise 3x3 convolution of
/// `stride` + batch norm + ReLU6, a linear 1x1 projection + batch norm, and the input added back where the stride is 1
/// and the width unchanged. Convolutions have no bias; batch norms PyTorch's defaults.
/// `(N, C_in, H, W)` → `(N, C_out, ⌈H/stride⌉, ⌈W/stride⌉)`.
///
/// Keys (`conv` is an `nn.Sequential`): with expansion `conv.0` (expansion), `conv.1` (depthwise), `conv.2`
/// (projection), `conv.3` (its norm); without, `conv.0` (depthwise), `conv.1`, `conv.2`.
public final class InvertedResidual: Module {
    /// What torchvision's `InvertedResidual(inp, oup, stride, expand_ratio)` is given.
    public struct Arguments: Hashable, Sendable {
        public var inputChannels: Int
        public var outputChannels: Int
        public var stride: Int
        public var expandRatio: Int

        public var expandedChannels: Int { inputChannels * expandRatio }
        /// Whether the input is added back (torchvision's `use_res_connect`).
        public var hasSkip: Bool { stride == 1 && inputChannels == outputChannels }
    }

    public let arguments: Arguments
    public let expansion: Conv2dNormActivation?
    public let depthwise: Conv2dNormActivation
    public let projection: Conv2d
    public let norm: BatchNorm2d
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        let tail: [any Module] = [depthwise, projection, norm]
        return ((expansion.map { [$0] } ?? []) + tail).enumerated().map { ("conv.\($0.offset)", $0.element) }
    }

    /// A block of PyTorch's default initialisation.
    public init(_ arguments: Arguments, generator: inout SeededGenerator) {
        self.arguments = arguments
        let expanded = arguments.expandedChannels
        expansion = arguments.expandRatio == 1 ? nil
            : Conv2dNormActivation(inputChannels: arguments.inputChannels, outputChannels: expanded, kernelSize: 1, generator: &generator)
        depthwise = Conv2dNormActivation(inputChannels: expanded, outputChannels: expanded, kernelSize: 3, stride: arguments.stride,
                                         groups: expanded, generator: &generator)
        projection = Conv2d(inputChannels: expanded, outputChannels: arguments.outputChannels, kernelSize: 1, bias: false,
                            generator: &generator)
        norm = BatchNorm2d(numFeatures: arguments.outputChannels)
    }

    /// The block's trainable parameters, counted from its arguments.
    public static func parameterCount(_ a: Arguments) -> Double {
        let (input, expanded, output) = (Double(a.inputChannels), Double(a.expandedChannels), Double(a.outputChannels))
        let expansion = a.expandRatio == 1 ? 0 : input * expanded + 2 * expanded
        return expansion + 9 * expanded + 2 * expanded + expanded * output + 2 * output
    }
}
