import Graph
import NN
import Tensors

/// MONAI's `ResidualUnit` (monai 1.6.1, `monai.networks.blocks.ResidualUnit`), 2-D: `subunits` `Convolution` blocks
/// with the network's activation (PReLU by default), as MONAI `UNet` builds them (`conv.unit0`, `conv.unit1`, …; only
/// the first strided; the last conv-only when `lastConvOnly`) plus the input through `residual`: a convolution with the
/// units' kernel and stride when the stride is not 1, 1x1 when only the channels change, the identity (no keys)
/// otherwise.
/// `(N, C_in, H, W)` → `(N, C_out, H / stride, W / stride)`.
public final class MONAIResidualUnit: MONAIBlock {
    public let units: [MONAIConvolution]
    public let residual: Conv2d?
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        units.enumerated().map { ("conv.unit\($0.offset)", $0.element as any Module) } + (residual.map { [("residual", $0)] } ?? [])
    }

    public init(inputChannels: Int, outputChannels: Int, kernel: Int, stride: Int, subunits: Int, lastConvOnly: Bool = false,
                norm: MONAINorm?, activation: MONAIActivation = .prelu, bias: Bool, dropout: Float = 0, generator: inout SeededGenerator) {
        let count = max(1, subunits)
        units = (0..<count).map { i in
            let convOnly = lastConvOnly && i == count - 1
            return MONAIConvolution(inputChannels: i == 0 ? inputChannels : outputChannels, outputChannels: outputChannels, kernel: kernel,
                                    stride: i == 0 ? stride : 1, norm: convOnly ? nil : norm, nonlinearity: convOnly ? nil : activation,
                                    bias: bias, dropout: dropout, generator: &generator)
        }
        if stride != 1 || inputChannels != outputChannels {
            let k = stride == 1 ? 1 : kernel
            residual = Conv2d(inputChannels: inputChannels, outputChannels: outputChannels, kernelSize: k, stride: stride,
                              padding: (k - 1) / 2, bias: bias, generator: &generator)
        } else {
            residual = nil
        }
    }

    public func apply(_ b: GraphBuilder, _ x: Graph.Value, key: String) throws -> Graph.Value {
        var y = x
        for (i, unit) in units.enumerated() { y = try unit.apply(b, y, key: "\(key).conv.unit\(i)") }
        guard let residual else { return try b.add(y, x, name: key + ".add") }
        let shape = residual.weight.value.shape
        let r = try b.conv2d(x, Conv2dAttributes(
            weight: key + ".residual.weight", bias: residual.bias == nil ? nil : key + ".residual.bias", outputChannels: shape[0],
            kernel: shape[2], stride: residual.stride[0], padding: residual.padding[0]), name: key + ".residual")
        return try b.add(y, r, name: key + ".add")
    }
}
