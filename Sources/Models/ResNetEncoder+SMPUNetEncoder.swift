import Graph

extension ResNetEncoder: SMPUNetEncoder {
    public var weightsDescription: String { "a torchvision \(variant.rawValue)" }
    public var stemKey: String { "conv1.weight" }
    public var classifierPrefix: String { "fc." }

    /// The stem (conv1, bn1, ReLU) and, from depth 2, the max-pool and layers 1 to `depth − 1` (`ResNetBlock.apply`).
    public func features(_ b: GraphBuilder, _ x: Graph.Value, depth: Int, prefix: String) throws -> [Graph.Value] {
        var x = try b.conv2d(x, Conv2dAttributes(weight: prefix + "conv1.weight", outputChannels: 64, kernel: 7, stride: 2, padding: 3),
                             name: prefix + "conv1")
        x = try b.relu(try b.batchNorm(x, BatchNormAttributes(prefix: prefix + "bn1."), name: prefix + "bn1"), name: prefix + "relu")
        var features = [x]
        for (i, layer) in layers.prefix(depth - 1).enumerated() {
            if i == 0 { x = try b.maxPool(x, PoolAttributes(kernel: 3, stride: 2, padding: 1), name: prefix + "maxpool") }
            for (j, residual) in layer.enumerated() { x = try residual.apply(b, x, key: "\(prefix)layer\(i + 1).\(j)") }
            features.append(x)
        }
        return features
    }
}
