import Graph

extension MobileNetV2Encoder: SMPUNetEncoder {
    public var weightsDescription: String { "a torchvision mobilenet_v2" }
    public var stemKey: String { "features.0.0.weight" }
    public var classifierPrefix: String { "classifier." }

    /// `features.0` to `features[outIndexes[depth − 1]]`: convolutions with batch norm, ReLU6 after all but each block's
    /// projection, the input added back where a block keeps its size and width.
    public func features(_ b: GraphBuilder, _ x: Graph.Value, depth: Int, prefix: String) throws -> [Graph.Value] {
        func unit(_ x: Graph.Value, _ key: String, _ out: Int, kernel: Int = 1, stride: Int = 1, groups: Int = 1,
                  activated: Bool = true) throws -> Graph.Value
        {
            let (convKey, normKey) = activated ? (key + ".0", key + ".1") : (key, nil)
            var y = try b.conv2d(x, Conv2dAttributes(weight: convKey + ".weight", outputChannels: out, kernel: kernel, stride: stride,
                                                      padding: (kernel - 1) / 2, groups: groups), name: convKey)
            guard let normKey else { return y }
            y = try b.batchNorm(y, BatchNormAttributes(prefix: normKey + "."), name: normKey)
            return try b.relu6(y, name: key + ".2")
        }
        func block(_ input: Graph.Value, _ a: InvertedResidual.Arguments, _ key: String) throws -> Graph.Value {
            var x = input
            var index = 0
            if a.expandRatio != 1 {
                x = try unit(x, "\(key).conv.0", a.expandedChannels)
                index = 1
            }
            x = try unit(x, "\(key).conv.\(index)", a.expandedChannels, kernel: 3, stride: a.stride, groups: a.expandedChannels)
            x = try unit(x, "\(key).conv.\(index + 1)", a.outputChannels, activated: false)
            let normKey = "\(key).conv.\(index + 2)"
            x = try b.batchNorm(x, BatchNormAttributes(prefix: normKey + "."), name: normKey)
            return a.hasSkip ? try b.add(x, input, name: key + ".add") : x
        }

        var x = try unit(x, prefix + "features.0", Self.stemChannels, kernel: 3, stride: 2)
        var features: [Graph.Value] = []
        let blocks = blocks.map(\.arguments)
        for index in 1...Self.outIndexes[depth - 1] {
            let key = "\(prefix)features.\(index)"
            x = index <= blocks.count ? try block(x, blocks[index - 1], key) : try unit(x, key, Self.headChannels)
            if Self.outIndexes.contains(index) { features.append(x) }
        }
        return features
    }
}
