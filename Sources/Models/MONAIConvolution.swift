import Graph
import NN
import Tensors

/// MONAI's `Convolution` block (monai 1.6.1, `monai.networks.blocks.Convolution`), 2-D with "same" padding: a
/// convolution or transposed convolution (`conv`), then norm (`adn.N`), dropout (`adn.D`, MONAI's `dropout_dim=1`: each
/// value; no parameters) and activation (`adn.A`, a parameter for PReLU), MONAI's default `adn_ordering="NDA"`. A
/// conv-only block has no `adn`.
///
/// Input `(N, C_in, H, W)` → `(N, C_out, H / stride, W / stride)`, or `· stride` when transposed (padding
/// `(k − 1) / 2`, and for the transposed form `output_padding = stride − 1`, as MONAI sets them).
public final class MONAIConvolution: MONAIBlock {
    /// `Conv2d` `(C_out, C_in, k, k)` or `ConvTranspose2d` `(C_in, C_out, k, k)`.
    public let conv: any Module
    public let norm: MONAINorm?
    public let normLayer: (any Module)?
    /// The activation after the norm.
    public let nonlinearity: MONAIActivation?
    public let prelu: PReLU?
    public let outputChannels: Int
    public let kernel: Int
    public let stride: Int
    public let transposed: Bool
    public let hasBias: Bool
    /// `adn.D`'s rate (0: none), in training only.
    public let dropout: Float
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        [("conv", conv)] + (normLayer.map { [("adn.N", $0)] } ?? []) + (prelu.map { [("adn.A", $0)] } ?? [])
    }

    /// A block initialised as PyTorch does; `nonlinearity` nil and `norm` nil make it conv-only (`.none`: no norm), which
    /// has no dropout either.
    public init(inputChannels: Int, outputChannels: Int, kernel: Int, stride: Int = 1, transposed: Bool = false, norm: MONAINorm?,
                nonlinearity: MONAIActivation?, bias: Bool, dropout: Float = 0, generator: inout SeededGenerator) {
        (self.outputChannels, self.kernel, self.stride, self.transposed, self.hasBias) = (outputChannels, kernel, stride, transposed, bias)
        self.dropout = norm == nil && nonlinearity == nil ? 0 : dropout
        (self.norm, self.nonlinearity) = (norm, nonlinearity)
        conv = transposed
            ? ConvTranspose2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernel, stride: stride,
                              padding: (kernel - 1) / 2, bias: bias, generator: &generator)
            : Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: kernel, stride: stride,
                     padding: (kernel - 1) / 2, bias: bias, generator: &generator)
        normLayer = switch norm {
        case .instance?: InstanceNorm2d(numFeatures: outputChannels, affine: false)
        case .instanceAffine?: InstanceNorm2d(numFeatures: outputChannels, affine: true)
        case .batch?: BatchNorm2d(numFeatures: outputChannels)
        case .none?, nil: nil
        }
        prelu = nonlinearity == .prelu ? PReLU() : nil
    }

    public func apply(_ b: GraphBuilder, _ x: Graph.Value, key: String) throws -> Graph.Value {
        let (weight, bias) = (key + ".conv.weight", hasBias ? key + ".conv.bias" : nil)
        var y = transposed
            ? try b.convTranspose2d(x, ConvTranspose2dAttributes(
                weight: weight, bias: bias, outputChannels: outputChannels, kernel: kernel, stride: stride, padding: (kernel - 1) / 2,
                outputPadding: stride - 1), name: key + ".conv")
            : try b.conv2d(x, Conv2dAttributes(weight: weight, bias: bias, outputChannels: outputChannels, kernel: kernel, stride: stride,
                                                padding: (kernel - 1) / 2), name: key + ".conv")
        switch norm {
        case .instance?: y = try b.instanceNorm(y, InstanceNormAttributes(affinePrefix: nil), name: key + ".adn.N")
        case .instanceAffine?: y = try b.instanceNorm(y, InstanceNormAttributes(affinePrefix: key + ".adn.N."), name: key + ".adn.N")
        case .batch?: y = try b.batchNorm(y, BatchNormAttributes(prefix: key + ".adn.N."), name: key + ".adn.N")
        case .none?, nil: break
        }
        y = try b.dropout(y, rate: dropout, name: key + ".adn.D")
        switch nonlinearity {
        case .prelu?: y = try b.prelu(y, weight: key + ".adn.A.weight", name: key + ".adn.A")
        case .relu?: y = try b.relu(y, name: key + ".adn.A")
        case .leakyReLU(let slope)?: y = try b.leakyReLU(y, slope: slope, name: key + ".adn.A")
        case nil: break
        }
        return y
    }
}
