import Tensors

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

extension UNetConfiguration {
    /// For a checkpoint of no known key layout: the classic U-Net its tensor shapes describe, when they describe
    /// exactly one. Input channels and base width come from the first 4-D weight, classes from the last (a 1x1
    /// head), depth from the 2x2 up-convolutions (or, for bilinear U-Nets, the count of 3x3 convolutions), batch
    /// norm and bias from the presence of their tensors; the file's tensors must then match the configuration's by
    /// role and shape, in order (`StructuralMatcher`). Padding, merge and concatenation order leave no trace in the
    /// weights: same padding, padded merge and skip-first are assumed, as milesial's U-Net does.
    /// - Parameter tensors: the file's keys and shapes, in file order.
    /// - Returns: nil when the shapes are not those of a classic U-Net.
    public static func inferred(from tensors: [(key: String, shape: [Int])]) -> UNetConfiguration? {
        let convolutions = tensors.filter { $0.key.hasSuffix("weight") && $0.shape.count == 4 }
        guard let first = convolutions.first, let head = convolutions.last, first.shape[2] == 3, head.shape[2] == 1,
            head.shape[3] == 1
        else { return nil }
        let transposed = convolutions.filter { $0.shape[2] == 2 && $0.shape[3] == 2 }.count
        let threeByThree = convolutions.filter { $0.shape[2] == 3 && $0.shape[3] == 3 }.count
        let depth = transposed > 0 ? transposed : (threeByThree / 2 - 1) / 2
        guard (1...8).contains(depth), threeByThree == 2 * (2 * depth + 1) else { return nil }
        let biasKey = String(first.key.dropLast("weight".count)) + "bias"
        let configuration = UNetConfiguration(
            layout: .milesial, inputChannels: first.shape[1], classes: head.shape[0], baseWidth: first.shape[0], depth: depth,
            batchNorm: tensors.contains { $0.key.hasSuffix("running_mean") }, convolutionBias: tensors.contains { $0.key == biasKey },
            upsampling: transposed > 0 ? .transposed : .bilinear)
        guard (try? configuration.validate()) != nil else { return nil }
        let stored = tensors.reduce(0.0) { $0 + Double($1.shape.reduce(1, *)) }
        guard configuration.parameterCount <= stored else { return nil }
        var generator = SeededGenerator(seed: 0)
        guard let model = try? UNet(configuration, generator: &generator),
            (try? StructuralMatcher.match(source: tensors, target: model.namedParameters().map { ($0.0, $0.1.value.shape) })) != nil
        else { return nil }
        return configuration
    }
}
