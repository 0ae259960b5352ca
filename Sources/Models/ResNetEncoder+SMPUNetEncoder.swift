import Graph

extension ResNetEncoder: SMPUNetEncoder {
    public var weightsDescription: String { "a torchvision \(variant.rawValue)" }
    public var stemKey: String { "conv1.weight" }
    public var classifierPrefix: String { "fc." }

    /// The stem (conv1, bn1, ReLU) and, from depth 2, the max-pool and layers 1 to `depth − 1`: torchvision's
    /// `BasicBlock` / `Bottleneck` (ResNeXt's grouped), convolutions with batch norm, ReLU between, the input added back.
    public func features(_ b: GraphBuilder, _ x: Graph.Value, depth: Int, prefix: String) throws -> [Graph.Value] {
        func conv(_ x: Graph.Value, _ key: String, _ out: Int, kernel: Int, stride: Int = 1, groups: Int = 1) throws -> Graph.Value {
            try b.conv2d(x, Conv2dAttributes(weight: key + ".weight", outputChannels: out, kernel: kernel, stride: stride, padding: kernel / 2,
                                              groups: groups), name: key)
        }
        func norm(_ x: Graph.Value, _ key: String) throws -> Graph.Value {
            try b.batchNorm(x, BatchNormAttributes(prefix: key + "."), name: key)
        }
        func block(_ x: Graph.Value, _ block: ResNetBlock, _ key: String) throws -> Graph.Value {
            var y = x
            for (i, (convolution, _)) in block.convolutions.enumerated() {
                let w = convolution.weight.value.shape
                y = try conv(y, "\(key).conv\(i + 1)", w[0], kernel: w[2], stride: convolution.stride[0], groups: convolution.groups)
                y = try norm(y, "\(key).bn\(i + 1)")
                if i < block.convolutions.count - 1 { y = try b.relu(y, name: "\(key).relu\(i + 1)") }
            }
            var identity = x
            if let (convolution, _) = block.downsample {
                identity = try conv(x, "\(key).downsample.0", convolution.weight.value.shape[0], kernel: 1, stride: block.stride)
                identity = try norm(identity, "\(key).downsample.1")
            }
            return try b.relu(try b.add(y, identity, name: "\(key).add"), name: "\(key).relu")
        }

        var x = try b.relu(try norm(try conv(x, prefix + "conv1", 64, kernel: 7, stride: 2), prefix + "bn1"), name: prefix + "relu")
        var features = [x]
        for (i, layer) in layers.prefix(depth - 1).enumerated() {
            if i == 0 { x = try b.maxPool(x, PoolAttributes(kernel: 3, stride: 2, padding: 1), name: prefix + "maxpool") }
            for (j, residual) in layer.enumerated() { x = try block(x, residual, "\(prefix)layer\(i + 1).\(j)") }
            features.append(x)
        }
        return features
    }
}
