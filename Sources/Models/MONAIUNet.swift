import NN
import Tensors

/// MONAI's `UNet` (monai 1.6.1), 2-D, key for key. MONAI builds it recursively: level `i` is
/// `Sequential(down, SkipConnection(level i + 1), up)`, so its keys are `model` + `.1.submodule` × i, then `.0` (down),
/// `.2` (up); the bottom block sits at `model` + `.1.submodule` × (levels). Blocks are MONAI `Convolution`s, or
/// `ResidualUnit`s with `residualUnits > 0` (the up path then is `.2.0` transposed, `.2.1` a one-unit residual).
/// `graph(inputShape:)` describes the computation, which the engine runs.
///
///     x (N, C_in, H, W) → down blocks (strided first convolutions) → bottom (stride 1)
///     level i up: [level i's down output, deeper output] concatenated → transposed conv (stride strides[i]) → ADN
///     the top level's up block ends conv-only: logits (N, classes, H, W); H and W multiples of the strides' product
public final class MONAIUNet: Module {
    public let configuration: MONAIUNetConfiguration
    /// One per level above the bottom, top first.
    public let down: [any MONAIBlock]
    public let bottom: any MONAIBlock
    /// One per level above the bottom, top first: the transposed `Convolution`, and the residual unit after it.
    public let up: [[any MONAIBlock]]
    public var isTraining = true

    /// Level `i`'s key prefix (`model`, `model.1.submodule`, …); `i` = the level count: the bottom block's.
    public static func prefix(_ i: Int) -> String { "model" + String(repeating: ".1.submodule", count: i) }

    /// The `state_dict` key prefixes of level `i`'s up blocks.
    func upKeys(_ i: Int) -> [String] {
        up[i].count == 1 ? [Self.prefix(i) + ".2"] : [Self.prefix(i) + ".2.0", Self.prefix(i) + ".2.1"]
    }

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = down.enumerated().map { (Self.prefix($0.offset) + ".0", $0.element) }
        children.append((Self.prefix(down.count), bottom))
        for i in (0..<up.count).reversed() { children += zip(upKeys(i), up[i]).map { ($0, $1 as any Module) } }
        return children
    }

    /// A randomly initialised network (PyTorch's default initialisation).
    /// - Throws: `UNetError.invalidConfiguration` for options out of range.
    public init(_ configuration: MONAIUNetConfiguration, generator: inout SeededGenerator) throws(UNetError) {
        try configuration.validate()
        self.configuration = configuration
        let c = configuration
        let dropout = c.dropout ?? 0
        func block(_ input: Int, _ output: Int, stride: Int) -> any MONAIBlock {
            c.residualUnits > 0
                ? MONAIResidualUnit(inputChannels: input, outputChannels: output, kernel: c.kernelSize, stride: stride,
                                    subunits: c.residualUnits, norm: c.norm, activation: c.activation, bias: c.bias, dropout: dropout,
                                    generator: &generator)
                : MONAIConvolution(inputChannels: input, outputChannels: output, kernel: c.kernelSize, stride: stride, norm: c.norm,
                                   nonlinearity: c.activation, bias: c.bias, dropout: dropout, generator: &generator)
        }
        let levels = c.channels.count - 1
        down = (0..<levels).map { block(c.level($0).input, c.level($0).down, stride: c.strides[$0]) }
        bottom = block(c.channels[levels - 1], c.channels[levels], stride: 1)
        up = (0..<levels).map { i in
            let (l, top) = (c.level(i), i == 0)
            let convOnly = top && c.residualUnits == 0
            var blocks: [any MONAIBlock] = [MONAIConvolution(
                inputChannels: l.upInput, outputChannels: l.output, kernel: c.upKernelSize, stride: c.strides[i], transposed: true,
                norm: convOnly ? nil : c.norm, nonlinearity: convOnly ? nil : c.activation, bias: c.bias, dropout: dropout,
                generator: &generator)]
            if c.residualUnits > 0 {
                blocks.append(MONAIResidualUnit(inputChannels: l.output, outputChannels: l.output, kernel: c.kernelSize, stride: 1, subunits: 1,
                                                lastConvOnly: top, norm: c.norm, activation: c.activation, bias: c.bias, dropout: dropout,
                                                generator: &generator))
            }
            return blocks
        }
    }

    /// Checks `x` is `(N, inputChannels, H, W)` with H and W multiples of the strides' product.
    public func checkInput(_ shape: [Int]) throws(UNetError) {
        let c = configuration.inputChannels
        guard shape.count == 4, shape.allSatisfy({ $0 >= 1 }) else { throw .invalidInput("expected (N, \(c), H, W), got \(shape)") }
        guard shape[1] == c else { throw .invalidInput("the model takes \(c) input channels, got \(shape[1]) in \(shape)") }
        let m = configuration.sizeMultiple
        guard shape[2] % m == 0, shape[3] % m == 0 else {
            throw .invalidInput("\(shape[2])x\(shape[3]): this MONAI UNet takes sizes that are multiples of \(m) (its strides' product)")
        }
    }
}
