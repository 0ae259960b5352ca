import Graph

extension SMPUNet {
    /// The network as a graph for input `(N, C_in, H, W)`, parameters named by smp's `state_dict` keys. Encoder
    /// layers past `encoderDepth` are not read.
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take.
    public func graph(inputShape: [Int]) throws -> Graph {
        try checkInput(inputShape)
        let c = configuration
        let b = GraphBuilder(inputShape: inputShape)

        func conv(_ x: Graph.Value, _ key: String, _ out: Int, kernel: Int, bias: Bool = false) throws -> Graph.Value {
            try b.conv2d(x, Conv2dAttributes(weight: key + ".weight", bias: bias ? key + ".bias" : nil, outputChannels: out, kernel: kernel,
                                              padding: kernel / 2), name: key)
        }
        func norm(_ x: Graph.Value, _ key: String) throws -> Graph.Value {
            try b.batchNorm(x, BatchNormAttributes(prefix: key + "."), name: key)
        }

        // Encoder: the features the decoder reads, shallowest first.
        let features = try encoder.features(b, b.input, depth: c.encoderDepth, prefix: "encoder.")
        var x = features.last!
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
