import Graph
import NN
import Tensors

/// dynamic-network-architectures' `UNetDecoder`, 2-D, shared by nnU-Net's `PlainConvUNet` and `ResidualEncoderUNet`:
/// per decoder stage `i` (deepest first), a transposed convolution of kernel = stride (`transpconvs.{i}`), `[up, skip]`
/// concatenated, `convsPerStage[i]` blocks (`stages.{i}.convs.{c}`) and a 1x1 head (`seg_layers.{i}`; the last is
/// the full-resolution one inference reads, the others serve deep supervision).
public final class UNetDecoder: Module {
    public let transposed: [ConvTranspose2d]
    public let stages: [[ConvDropoutNormReLU]]
    public let heads: [Conv2d]
    public var isTraining = true

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = []
        for (i, blocks) in stages.enumerated() { children += blocks.enumerated().map { ("stages.\(i).convs.\($0.offset)", $0.element) } }
        children += transposed.enumerated().map { ("transpconvs.\($0.offset)", $0.element) }
        return children + heads.enumerated().map { ("seg_layers.\($0.offset)", $0.element) }
    }

    /// The decoder of an encoder with stages of `features`, `strides` and `kernelSizes` (`[height, width]` each),
    /// shallowest first.
    public init(features: [Int], strides: [[Int]], kernelSizes: [[Int]], convsPerStage: [Int], classes: Int, bias: Bool,
                generator: inout SeededGenerator) {
        let n = features.count
        var transposed: [ConvTranspose2d] = [], stages: [[ConvDropoutNormReLU]] = [], heads: [Conv2d] = []
        for i in 0..<(n - 1) {
            let (deep, skip, stride) = (features[n - 1 - i], features[n - 2 - i], strides[n - 1 - i])
            transposed.append(ConvTranspose2d(inputChannels: deep, outputChannels: skip, kernelSize: stride, stride: stride, bias: bias,
                                              generator: &generator))
            stages.append((0..<convsPerStage[i]).map { j in
                ConvDropoutNormReLU(inputChannels: j == 0 ? 2 * skip : skip, outputChannels: skip, kernel: kernelSizes[n - 2 - i], stride: [1, 1],
                                    bias: bias, generator: &generator)
            })
            heads.append(Conv2d(inputChannels: skip, outputChannels: classes, kernelSize: 1, generator: &generator))
        }
        (self.transposed, self.stages, self.heads) = (transposed, stages, heads)
    }

    /// The decoder applied to the encoder's `skips` (shallowest first, the deepest last), its tensors under `key`
    /// (`decoder`): the full-resolution head's logits, and with `allHeads` every other stage's head's after them, from
    /// the largest (the package's `deep_supervision=True` order).
    public func apply(_ b: GraphBuilder, skips: [Graph.Value], key: String, allHeads: Bool) throws -> [Graph.Value] {
        func head(_ i: Int, _ x: Graph.Value) throws -> Graph.Value {
            let name = "\(key).seg_layers.\(i)"
            return try b.conv2d(x, Conv2dAttributes(weight: name + ".weight", bias: name + ".bias", outputChannels: heads[i].weight.value.shape[0],
                                                    kernel: 1), name: name)
        }
        var x = skips.last!
        var logits: [Graph.Value] = []
        for (i, blocks) in stages.enumerated() {
            let w = transposed[i].weight.value.shape
            var up = ConvTranspose2dAttributes(weight: "\(key).transpconvs.\(i).weight",
                                               bias: transposed[i].bias == nil ? nil : "\(key).transpconvs.\(i).bias", outputChannels: w[1], kernel: 1)
            (up.kernel, up.stride) = ([w[2], w[3]], [w[2], w[3]])
            x = try b.convTranspose2d(x, up, name: "\(key).transpconvs.\(i)")
            x = try b.concat([x, skips[skips.count - 2 - i]], name: "\(key).stages.\(i).cat")
            for (j, block) in blocks.enumerated() { x = try block.apply(b, x, key: "\(key).stages.\(i).convs.\(j)") }
            if allHeads || i == stages.count - 1 { logits.append(try head(i, x)) }
        }
        return logits.reversed()
    }
}
