import Graph

extension TimmEfficientNetEncoder: SMPUNetEncoder {
    public var weightsDescription: String { "a timm \(variant.rawValue.dropFirst("timm-".count))" }
    public var stemKey: String { "conv_stem.weight" }
    public var classifierPrefix: String { "classifier." }

    /// The stem (convolution, batch norm, activation) and, from depth 2, stages 0 to `featureStages[depth − 2]`.
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
        func block(_ input: Graph.Value, _ a: MBConvBlock.Arguments, _ key: String) throws -> Graph.Value {
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
            return a.hasSkip ? try b.add(x, input, name: key + ".add") : x
        }

        var x = try conv(x, prefix + "conv_stem", variant.stemChannels, kernel: 3, stride: 2)
        x = try activate(try norm(x, prefix + "bn1"), prefix + "bn1.act")
        var features = [x]
        let wanted = Self.featureStages.prefix(depth - 1)
        guard let last = wanted.last else { return features }
        for (s, stage) in variant.stageBlocks.prefix(last + 1).enumerated() {
            for (i, arguments) in stage.enumerated() { x = try block(x, arguments, "\(prefix)blocks.\(s).\(i)") }
            if wanted.contains(s) { features.append(x) }
        }
        return features
    }
}
