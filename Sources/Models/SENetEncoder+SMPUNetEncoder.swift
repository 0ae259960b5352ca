import Graph

extension SENetEncoder: SMPUNetEncoder {
    public var weightsDescription: String { "a pretrainedmodels \(variant.rawValue)" }
    public var stemKey: String { "layer0.conv1.weight" }
    public var classifierPrefix: String { "last_linear." }

    /// The stem (conv1, bn1, ReLU) and, from depth 2, the ceil-mode max-pool and layers 1 to `depth − 1`.
    public func features(_ b: GraphBuilder, _ x: Graph.Value, depth: Int, prefix: String) throws -> [Graph.Value] {
        func conv(_ x: Graph.Value, _ key: String, _ out: Int, kernel: Int, stride: Int = 1, groups: Int = 1,
                  bias: Bool = false) throws -> Graph.Value
        {
            try b.conv2d(x, Conv2dAttributes(weight: key + ".weight", bias: bias ? key + ".bias" : nil, outputChannels: out, kernel: kernel,
                                              stride: stride, padding: kernel / 2, groups: groups), name: key)
        }
        func norm(_ x: Graph.Value, _ key: String) throws -> Graph.Value {
            try b.batchNorm(x, BatchNormAttributes(prefix: key + "."), name: key)
        }
        func block(_ x: Graph.Value, _ block: SEResNetBlock, _ key: String) throws -> Graph.Value {
            var y = x
            for (i, (convolution, _)) in block.convolutions.enumerated() {
                let w = convolution.weight.value.shape
                y = try norm(try conv(y, "\(key).conv\(i + 1)", w[0], kernel: w[2], stride: convolution.stride[0], groups: convolution.groups),
                             "\(key).bn\(i + 1)")
                if i < 2 { y = try b.relu(y, name: "\(key).relu\(i + 1)") }
            }
            let channels = block.convolutions[2].0.weight.value.shape[0]
            var gate = try b.globalAvgPool(y, name: key + ".se_module.avg_pool")
            gate = try b.relu(try conv(gate, key + ".se_module.fc1", channels / SEResNetBlock.reduction, kernel: 1, bias: true),
                              name: key + ".se_module.relu")
            gate = try b.sigmoid(try conv(gate, key + ".se_module.fc2", channels, kernel: 1, bias: true), name: key + ".se_module.sigmoid")
            y = try b.multiply(y, gate, name: key + ".se_module")
            var identity = x
            if block.downsample != nil {
                identity = try norm(try conv(x, "\(key).downsample.0", channels, kernel: 1, stride: block.stride), "\(key).downsample.1")
            }
            return try b.relu(try b.add(y, identity, name: "\(key).add"), name: "\(key).relu")
        }

        var x = try b.relu(try norm(try conv(x, prefix + "layer0.conv1", 64, kernel: 7, stride: 2), prefix + "layer0.bn1"),
                           name: prefix + "layer0.relu1")
        var features = [x]
        for (i, layer) in layers.prefix(depth - 1).enumerated() {
            if i == 0 {
                x = try b.maxPool(x, PoolAttributes(kernel: 3, stride: 2, padding: 0, ceilMode: true), name: prefix + "layer0.pool")
            }
            for (j, residual) in layer.enumerated() { x = try block(x, residual, "\(prefix)layer\(i + 1).\(j)") }
            features.append(x)
        }
        return features
    }
}
