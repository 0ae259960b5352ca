import NN
import Tensors

/// (3x3 convolution → [BatchNorm] → ReLU) × 2, the U-Net's building block. Mirrors milesial's `DoubleConv`,
/// the tutorial's and labml's `DoubleConvolution`; `naming` gives the PyTorch keys.
public final class DoubleConv: Module {
    /// How the block's tensors are named in its checkpoint layout.
    public enum Naming: Sendable {
        /// An `nn.Sequential` under `name` (`double_conv` or `conv`): conv 0, BN 1, ReLU 2, conv 3, BN 4, ReLU 5.
        case sequential(String)
        /// labml: `first`, `second` (no BN).
        case firstSecond
    }

    public let conv1: Conv2d
    public let norm1: BatchNorm2d?
    public let conv2: Conv2d
    public let norm2: BatchNorm2d?
    public let naming: Naming
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        switch naming {
        case .sequential(let name):
            var children: [(String, any Module)] = [("\(name).0", conv1)]
            if let norm1 { children.append(("\(name).1", norm1)) }
            children.append(("\(name).3", conv2))
            if let norm2 { children.append(("\(name).4", norm2)) }
            return children
        case .firstSecond:
            return [("first", conv1), ("second", conv2)]
        }
    }

    /// - Parameters:
    ///   - middleChannels: output channels of the first convolution (milesial's `mid_channels`; default `outputChannels`).
    public init(
        inputChannels: Int, outputChannels: Int, middleChannels: Int? = nil, padding: Int, batchNorm: Bool, bias: Bool,
        naming: Naming, generator: inout SeededGenerator
    ) {
        let middle = middleChannels ?? outputChannels
        conv1 = Conv2d(inputChannels: inputChannels, outputChannels: middle, kernelSize: 3, padding: padding, bias: bias,
                       generator: &generator)
        norm1 = batchNorm ? BatchNorm2d(numFeatures: middle) : nil
        conv2 = Conv2d(inputChannels: middle, outputChannels: outputChannels, kernelSize: 3, padding: padding, bias: bias,
                       generator: &generator)
        norm2 = batchNorm ? BatchNorm2d(numFeatures: outputChannels) : nil
        self.naming = naming
    }
}
