import Graph

extension TimmEfficientNetEncoder: SMPUNetEncoder {
    public var weightsDescription: String { "a timm \(variant.rawValue.dropFirst("timm-".count))" }
    public var stemKey: String { "conv_stem.weight" }
    public var classifierPrefix: String { "classifier." }
    /// timm's `tf_efficientnet_lite*` weights, ported from TensorFlow's, take images scaled to [-1, 1].
    public var pretrainedMeanStd: (mean: [Float], std: [Float]) {
        variant.isLite ? ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]) : Self.imageNetMeanStd
    }

    /// timm's key for an efficientnet-pytorch-style key (efficientnet-pytorch's EfficientNets and the
    /// `efficientnet_lite_pytorch` package's Lites: `_conv_stem.weight`, `_blocks.{n}._expand_conv.weight`, `_fc.bias`),
    /// whose modules come in timm's order: the stem and its norm, the blocks numbered through the stages, the head and
    /// its norm, the classifier. Other keys are returned as they are.
    public func ownKey(pretrained key: String) -> String {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2, let own = Self.efficientNetPyTorchTop[parts[0]] { return own + "." + parts[1] }
        guard parts.count >= 4, parts[0] == "_blocks", let n = Int(parts[1]), n >= 0 else { return key }
        var index = n
        for (s, stage) in blocks.enumerated() {
            guard index >= stage.count else {
                let names = stage[index].expansion == nil ? Self.efficientNetPyTorchSeparable : Self.efficientNetPyTorchInverted
                guard let own = names[parts[2]] else { return key }
                return (["blocks", String(s), String(index), own] + parts[3...]).joined(separator: ".")
            }
            index -= stage.count
        }
        return key
    }

    /// The stem, the head and the classifier.
    static let efficientNetPyTorchTop = [
        "_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier",
    ]
    /// A block without expansion (timm's `DepthwiseSeparableConv`).
    static let efficientNetPyTorchSeparable = [
        "_depthwise_conv": "conv_dw", "_bn1": "bn1", "_se_reduce": "se.conv_reduce", "_se_expand": "se.conv_expand",
        "_project_conv": "conv_pw", "_bn2": "bn2",
    ]
    /// An inverted residual block.
    static let efficientNetPyTorchInverted = [
        "_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2", "_se_reduce": "se.conv_reduce",
        "_se_expand": "se.conv_expand", "_project_conv": "conv_pwl", "_bn2": "bn3",
    ]

    /// The stem (convolution, batch norm, activation) and, from depth 2, stages 0 to `featureStages[depth − 2]`; drop
    /// path (`<block>.drop_path`) where `dropPathRate` is set.
    public func features(_ b: GraphBuilder, _ x: Graph.Value, depth: Int, prefix: String) throws -> [Graph.Value] {
        func conv(_ x: Graph.Value, _ key: String, _ out: Int, kernel: Int = 1, stride: Int = 1, groups: Int = 1,
                  bias: Bool = false) throws -> Graph.Value
        {
            try b.conv2d(x, Conv2dAttributes(weight: key + ".weight", bias: bias ? key + ".bias" : nil, outputChannels: out, kernel: kernel,
                                              stride: stride, padding: kernel / 2, groups: groups), name: key)
        }
        func norm(_ x: Graph.Value, _ key: String) throws -> Graph.Value {
            try b.batchNorm(x, BatchNormAttributes(prefix: key + "."), name: key)
        }
        func activate(_ x: Graph.Value, _ name: String) throws -> Graph.Value {
            variant.isLite ? try b.relu6(x, name: name) : try b.silu(x, name: name)
        }
        func block(_ input: Graph.Value, _ a: MBConvBlock.Arguments, _ key: String, dropRate: Float) throws -> Graph.Value {
            var x = input
            let expanded = a.expandedChannels
            let separable = a.expandRatio == 1  // timm's DepthwiseSeparableConv
            let (depthwiseNorm, projection, projectionNorm) = separable ? ("bn1", "conv_pw", "bn2") : ("bn2", "conv_pwl", "bn3")
            if !separable {
                x = try activate(try norm(try conv(x, key + ".conv_pw", expanded), key + ".bn1"), key + ".bn1.act")
            }
            x = try conv(x, key + ".conv_dw", expanded, kernel: a.kernel, stride: a.stride, groups: expanded)
            x = try activate(try norm(x, "\(key).\(depthwiseNorm)"), "\(key).\(depthwiseNorm).act")
            if a.squeezedChannels > 0 {
                var gate = try b.globalAvgPool(x, name: key + ".se.pool")
                gate = try b.silu(try conv(gate, key + ".se.conv_reduce", a.squeezedChannels, bias: true), name: key + ".se.act1")
                gate = try b.sigmoid(try conv(gate, key + ".se.conv_expand", expanded, bias: true), name: key + ".se.gate")
                x = try b.multiply(x, gate, name: key + ".se")
            }
            x = try norm(try conv(x, "\(key).\(projection)", a.outputChannels), "\(key).\(projectionNorm)")
            guard a.hasSkip else { return x }
            return try b.add(try b.dropout(x, rate: dropRate, perSample: true, name: key + ".drop_path"), input, name: key + ".add")
        }

        var x = try conv(x, prefix + "conv_stem", variant.stemChannels, kernel: 3, stride: 2)
        x = try activate(try norm(x, prefix + "bn1"), prefix + "bn1.act")
        var features = [x]
        let wanted = Self.featureStages.prefix(depth - 1)
        guard let last = wanted.last else { return features }
        let count = Float(blocks.joined().count)
        var index = 0
        for (s, stage) in variant.stageBlocks.prefix(last + 1).enumerated() {
            for (i, arguments) in stage.enumerated() {
                x = try block(x, arguments, "\(prefix)blocks.\(s).\(i)", dropRate: dropPathRate * Float(index) / count)
                index += 1
            }
            if wanted.contains(s) { features.append(x) }
        }
        return features
    }
}
