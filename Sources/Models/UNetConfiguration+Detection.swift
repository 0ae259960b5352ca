extension UNetConfiguration {
    /// Recognises milesial, tutorial and labml checkpoints by their keys and reads the hyper-parameters off the
    /// tensor shapes: input channels and base width from the first convolution, depth from the number of
    /// down-sampling blocks, classes from the head, bilinear from the absence of up-convolution weights,
    /// BN and bias from the presence of their tensors. Padding and merge leave no trace in weights: a tutorial
    /// checkpoint is assumed same + pad unless the caller overrides it.
    /// - Returns: nil when the keys match none of the three layouts.
    public static func detect(shapes: [String: [Int]]) -> UNetConfiguration? {
        if let first = shapes["inc.double_conv.0.weight"] {
            return sequential(.milesial, block: "double_conv", head: "outc.conv.weight", first: first, shapes)
        }
        if let first = shapes["inc.conv.0.weight"] {
            return sequential(.tutorial, block: "conv", head: "outc.weight", first: first, shapes)
        }
        if let first = shapes["down_conv.0.first.weight"], first.count == 4,
            let head = shapes["final_conv.weight"], head.count == 4
        {
            var depth = 0
            while shapes["down_conv.\(depth).first.weight"] != nil { depth += 1 }
            var configuration = UNetConfiguration.labml(inputChannels: first[1], classes: head[0], baseWidth: first[0],
                                                        depth: depth)
            configuration.convolutionBias = shapes["down_conv.0.first.bias"] != nil
            return configuration
        }
        return nil
    }

    private static func sequential(_ layout: Layout, block: String, head: String, first: [Int], _ shapes: [String: [Int]])
        -> UNetConfiguration?
    {
        guard first.count == 4, let headShape = shapes[head], headShape.count == 4 else { return nil }
        var depth = 0
        while shapes["down\(depth + 1).maxpool_conv.1.\(block).0.weight"] != nil { depth += 1 }
        guard depth > 0 else { return nil }
        return UNetConfiguration(
            layout: layout, inputChannels: first[1], classes: headShape[0], baseWidth: first[0], depth: depth,
            batchNorm: shapes["inc.\(block).1.weight"] != nil || shapes["inc.\(block).1.running_mean"] != nil,
            convolutionBias: shapes["inc.\(block).0.bias"] != nil,
            upsampling: shapes["up1.up.weight"] == nil ? .bilinear : .transposed)
    }
}
