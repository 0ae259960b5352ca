import Graph

extension SMPUNet {
    /// The network as a graph for input `(N, C_in, H, W)`, parameters named by smp's `state_dict` keys. Encoder
    /// layers past `encoderDepth` are not read.
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take.
    public func graph(inputShape: [Int]) throws -> Graph {
        try checkInput(inputShape)
        let c = configuration
        let b = GraphBuilder(inputShape: inputShape)

        func conv(_ x: Graph.Value, _ key: String, _ out: Int, kernel: Int, stride: Int = 1, groups: Int = 1, bias: Bool = false) throws
            -> Graph.Value
        {
            try b.conv2d(x, Conv2dAttributes(weight: key + ".weight", bias: bias ? key + ".bias" : nil, outputChannels: out, kernel: kernel,
                                              stride: stride, padding: kernel / 2, groups: groups), name: key)
        }
        func norm(_ x: Graph.Value, _ key: String) throws -> Graph.Value {
            try b.batchNorm(x, BatchNormAttributes(prefix: key + "."), name: key)
        }
        // torchvision's BasicBlock / Bottleneck (ResNeXt's grouped): convolutions with batch norm, ReLU between, the input
        // added back.
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

        // Encoder: the features the decoder reads, shallowest first.
        var features: [Graph.Value] = []
        var x = try b.relu(try norm(try conv(b.input, "encoder.conv1", 64, kernel: 7, stride: 2), "encoder.bn1"), name: "encoder.relu")
        features.append(x)
        for (i, layer) in encoder.layers.prefix(c.encoderDepth - 1).enumerated() {
            if i == 0 { x = try b.maxPool(x, PoolAttributes(kernel: 3, stride: 2, padding: 1), name: "encoder.maxpool") }
            for (j, residual) in layer.enumerated() { x = try block(x, residual, "encoder.layer\(i + 1).\(j)") }
            features.append(x)
        }
        // smp's SCSEModule: x · (channel weights) + x · (pixel weights).
        func scse(_ x: Graph.Value, _ key: String) throws -> Graph.Value {
            let channels = b.shape(x)[1]
            var gate = try b.globalAvgPool(x, name: key + ".cSE.0")
            gate = try b.relu(try conv(gate, key + ".cSE.1", channels / SCSEModule.reduction, kernel: 1, bias: true), name: key + ".cSE.2")
            gate = try b.sigmoid(try conv(gate, key + ".cSE.3", channels, kernel: 1, bias: true), name: key + ".cSE.4")
            let pixels = try b.sigmoid(try conv(x, key + ".sSE.0", 1, kernel: 1, bias: true), name: key + ".sSE.1")
            return try b.add(try b.multiply(x, gate, name: key + ".cSE"), try b.multiply(x, pixels, name: key + ".sSE"), name: key)
        }

        // Decoder: up-sample to the next shallower map's size (the input's, last; nearest or bilinear), [up, skip] (and
        // attention), two Conv-BN-ReLU (and attention).
        let sizes = ([b.input] + features).map { Array(b.shape($0)[2...]) }
        let attends = c.decoderAttention == .scse
        for (i, width) in c.decoderChannels.enumerated() {
            let key = "decoder.blocks.\(i)"
            let level = c.encoderDepth - 1 - i  // index into `sizes` of the target (and of the skip, shifted by one)
            let mode: UpsampleAttributes.Mode = c.decoderInterpolation == .bilinear ? .bilinear(alignCorners: false) : .nearest
            x = try b.upsample(x, size: sizes[level], mode: mode, name: key + ".up")
            if level > 0 {
                x = try b.concat([x, features[level - 1]], name: key + ".cat")
                if attends { x = try scse(x, key + ".attention1.attention") }
            }
            for unit in ["conv1", "conv2"] {
                x = try b.relu(try norm(try conv(x, "\(key).\(unit).0", width, kernel: 3), "\(key).\(unit).1"), name: "\(key).\(unit).2")
            }
            if attends { x = try scse(x, key + ".attention2.attention") }
        }
        return b.graph(output: try conv(x, "segmentation_head.0", c.classes, kernel: 3, bias: true))
    }
}
