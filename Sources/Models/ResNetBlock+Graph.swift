import Graph
import NN

extension ResNetBlock {
    /// The block as graph nodes on `x`, parameters named `key` + the block's keys (`layer1.0.conv1.weight`, ...).
    public func apply(_ b: GraphBuilder, _ x: Graph.Value, key: String) throws -> Graph.Value {
        func conv(_ x: Graph.Value, _ name: String, _ convolution: Conv2d) throws -> Graph.Value {
            let w = convolution.weight.value.shape
            return try b.conv2d(x, Conv2dAttributes(
                weight: "\(key).\(name).weight", bias: convolution.bias == nil ? nil : "\(key).\(name).bias", outputChannels: w[0],
                kernel: w[2], stride: convolution.stride[0], padding: convolution.padding[0], groups: convolution.groups), name: "\(key).\(name)")
        }
        func norm(_ x: Graph.Value, _ name: String) throws -> Graph.Value {
            try b.batchNorm(x, BatchNormAttributes(prefix: "\(key).\(name)."), name: "\(key).\(name)")
        }
        var y = x
        for (i, (convolution, _)) in convolutions.enumerated() {
            y = try norm(try conv(y, "conv\(i + 1)", convolution), "bn\(i + 1)")
            if i < convolutions.count - 1 { y = try b.relu(y, name: "\(key).relu\(i + 1)") }
        }
        if let (fc1, fc2) = excitation {
            var gate = try b.globalAvgPool(y, name: key + ".se_module.avg_pool")
            gate = try b.relu(try conv(gate, "se_module.fc1", fc1), name: key + ".se_module.relu")
            gate = try b.sigmoid(try conv(gate, "se_module.fc2", fc2), name: key + ".se_module.sigmoid")
            y = try b.multiply(y, gate, name: key + ".se_module")
        }
        var identity = x
        if let (convolution, _) = downsample { identity = try norm(try conv(x, "downsample.0", convolution), "downsample.1") }
        return try b.relu(try b.add(y, identity, name: "\(key).add"), name: "\(key).relu")
    }
}
