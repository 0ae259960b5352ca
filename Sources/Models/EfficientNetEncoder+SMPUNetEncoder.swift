import Graph

extension EfficientNetEncoder: SMPUNetEncoder {
    public var weightsDescription: String { "an efficientnet-pytorch \(variant.rawValue)" }
    public var stemKey: String { "_conv_stem.weight" }
    public var classifierPrefix: String { "_fc." }

    /// The stem (convolution, batch norm, SiLU) and, from depth 2, the blocks up to `outIndexes[depth − 2]`; each
    /// convolution padded as its static padding says (after the map only where it is uneven); drop connect
    /// (`<block>.drop_connect`) where `dropPathRate` is set.
    public func features(_ b: GraphBuilder, _ x: Graph.Value, depth: Int, prefix: String) throws -> [Graph.Value] {
        func conv(_ x: Graph.Value, _ key: String, _ out: Int, kernel: Int = 1, stride: Int = 1, padding: (Int, Int) = (0, 0),
                  groups: Int = 1, bias: Bool = false) throws -> Graph.Value
        {
            try b.conv2d(x, Conv2dAttributes(weight: key + ".weight", bias: bias ? key + ".bias" : nil, outputChannels: out,
                                              kernel: [kernel, kernel], stride: [stride, stride],
                                              padding: [padding.0, padding.1, padding.0, padding.1], dilation: [1, 1], groups: groups),
                         name: key)
        }
        func norm(_ x: Graph.Value, _ key: String) throws -> Graph.Value {
            try b.batchNorm(x, BatchNormAttributes(prefix: key + ".", epsilon: MBConvBlock.normEpsilon, momentum: MBConvBlock.normMomentum),
                            name: key)
        }
        func block(_ input: Graph.Value, _ a: MBConvBlock.Arguments, _ key: String, dropRate: Float) throws -> Graph.Value {
            var x = input
            let expanded = a.expandedChannels
            if a.expandRatio != 1 {
                x = try b.silu(try norm(try conv(x, key + "._expand_conv", expanded), key + "._bn0"), name: key + "._swish0")
            }
            x = try conv(x, key + "._depthwise_conv", expanded, kernel: a.kernel, stride: a.stride, padding: (a.paddingBefore, a.paddingAfter),
                         groups: expanded)
            x = try b.silu(try norm(x, key + "._bn1"), name: key + "._swish1")
            var gate = try b.globalAvgPool(x, name: key + ".squeeze")
            gate = try b.silu(try conv(gate, key + "._se_reduce", a.squeezedChannels, bias: true), name: key + "._swish2")
            gate = try b.sigmoid(try conv(gate, key + "._se_expand", expanded, bias: true), name: key + ".gate")
            x = try b.multiply(x, gate, name: key + ".excite")
            x = try norm(try conv(x, key + "._project_conv", a.outputChannels), key + "._bn2")
            guard a.hasSkip else { return x }
            return try b.add(try b.dropout(x, rate: dropRate, perSample: true, name: key + ".drop_connect"), input, name: key + ".add")
        }

        var x = try conv(x, prefix + "_conv_stem", variant.stemChannels, kernel: 3, stride: 2, padding: variant.stemPadding)
        x = try b.silu(try norm(x, prefix + "_bn0"), name: prefix + "_swish")
        var features = [x]
        let outputs = variant.outIndexes.prefix(depth - 1)
        guard let last = outputs.last else { return features }
        for (i, arguments) in blocks.map(\.arguments).prefix(last + 1).enumerated() {
            x = try block(x, arguments, "\(prefix)_blocks.\(i)", dropRate: dropPathRate * Float(i) / Float(blocks.count))
            if outputs.contains(i) { features.append(x) }
        }
        return features
    }
}
