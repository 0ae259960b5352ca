import NN
import Tensors

/// A configurable U-Net (Ronneberger et al. 2015) whose state dict matches the configured PyTorch layout
/// key for key. It holds the parameters; `graph(inputShape:)` describes the computation, which a `CompiledUNet`
/// runs. Encoder level 0 is milesial's `inc`; levels 1...depth follow a 2x2 max-pool (`down1`...);
/// decoder step i (`up{i+1}`) up-samples, merges the skip of level `depth − 1 − i`, and applies a DoubleConv;
/// a 1x1 convolution gives the logits.
///
///     x (N, C_in, H, W) → inc → down1 → … → down_d ─┐
///                           │skip0    │skip1          ↓
///                           └──────── … ── up_1 … up_d → outc → logits (N, classes, H', W')
///
/// Channels: level i has `baseWidth·2^i`; with bilinear up-sampling the deepest level and the decoder
/// outputs are halved, as in milesial's `bilinear=True`.
public final class UNet: Module {
    public let configuration: UNetConfiguration
    /// Levels 0...depth.
    public let encoders: [DoubleConv]
    /// Decoder steps, deepest first.
    public let upsamplers: [Upsampler]
    /// Decoder steps, deepest first.
    public let decoders: [DoubleConv]
    /// The 1x1 convolution to class logits.
    public let head: Conv2d
    public var isTraining = true

    /// A randomly initialised U-Net (PyTorch's default initialisation).
    /// - Throws: `UNetError.invalidConfiguration` for options that do not fit together.
    public init(_ configuration: UNetConfiguration, generator: inout SeededGenerator) throws(UNetError) {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        let factor = c.upsampling == .bilinear ? 2 : 1
        let padding = c.padding == .same ? 1 : 0
        let naming: DoubleConv.Naming =
            switch c.layout {
            case .milesial: .sequential("double_conv")
            case .tutorial: .sequential("conv")
            case .labml: .firstSecond
            }
        func block(_ input: Int, _ output: Int, middle: Int? = nil, _ g: inout SeededGenerator) -> DoubleConv {
            DoubleConv(inputChannels: input, outputChannels: output, middleChannels: middle, padding: padding,
                       batchNorm: c.batchNorm, bias: c.convolutionBias, naming: naming, generator: &g)
        }
        var encoders = [block(c.inputChannels, c.width(0), &generator)]
        for level in 1...c.depth {
            encoders.append(block(c.width(level - 1), c.width(level) / (level == c.depth ? factor : 1), &generator))
        }
        var upsamplers: [Upsampler] = []
        var decoders: [DoubleConv] = []
        for level in (0..<c.depth).reversed() {
            let input = c.width(level + 1)  // channels after concatenation
            let output = level == 0 ? c.width(0) : c.width(level) / factor
            if c.upsampling == .bilinear {
                upsamplers.append(.bilinear(Upsample(scaleFactor: 2)))
                decoders.append(block(input, output, middle: input / 2, &generator))
            } else {
                upsamplers.append(.transposed(ConvTranspose2d(inputChannels: input, outputChannels: input / 2,
                                                              kernelSize: 2, stride: 2, generator: &generator)))
                decoders.append(block(input, output, &generator))
            }
        }
        self.encoders = encoders
        self.upsamplers = upsamplers
        self.decoders = decoders
        head = Conv2d(inputChannels: c.width(0), outputChannels: c.classes, kernelSize: 1, generator: &generator)
    }

    /// Sub-modules under the configured layout's names, in PyTorch's registration order.
    public var namedChildren: [(String, any Module)] {
        let d = configuration.depth
        switch configuration.layout {
        case .milesial, .tutorial:
            var children: [(String, any Module)] = [("inc", encoders[0])]
            for level in 1...d { children.append(("down\(level).maxpool_conv.1", encoders[level])) }
            for i in 0..<d {
                children.append(("up\(i + 1).up", upsamplers[i].module))
                children.append(("up\(i + 1).conv", decoders[i]))
            }
            children.append((configuration.layout == .milesial ? "outc.conv" : "outc", head))
            return children
        case .labml:
            var children: [(String, any Module)] = (0..<d).map { ("down_conv.\($0)", encoders[$0]) }
            children.append(("middle_conv", encoders[d]))
            children += upsamplers.enumerated().map { ("up_sample.\($0.offset).up", $0.element.module) }
            children += decoders.enumerated().map { ("up_conv.\($0.offset)", $0.element) }
            children.append(("final_conv", head))
            return children
        }
    }

    /// Checks `x` is `(N, inputChannels, H, W)` with H and W large enough for every level.
    public func checkInput(_ shape: [Int]) throws(UNetError) {
        let c = configuration
        guard shape.count == 4, shape[0] > 0 else {
            throw .invalidInput("expected (N, \(c.inputChannels), H, W), got \(shape)")
        }
        guard shape[1] == c.inputChannels else {
            throw .invalidInput("the model takes \(c.inputChannels) input channels, got \(shape[1]) in \(shape)")
        }
        guard c.outputSize(forInputSize: shape[2]) != nil, c.outputSize(forInputSize: shape[3]) != nil else {
            throw .invalidInput("\(shape[2])x\(shape[3]) is too small for this U-Net (at least \(c.minimumInputSize) pixels a side)")
        }
    }
}
