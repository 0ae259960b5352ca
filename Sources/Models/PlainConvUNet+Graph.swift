import Graph

extension PlainConvUNet {
    /// The network as a graph for input `(N, C_in, H, W)`, parameters named by the package's `state_dict` keys; its
    /// output is the full-resolution head's logits (the other heads serve deep supervision in nnU-Net's training).
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take.
    public func graph(inputShape: [Int]) throws -> Graph {
        try checkInput(inputShape)
        let c = configuration
        let b = GraphBuilder(inputShape: inputShape)
        func block(_ x: Graph.Value, _ module: ConvDropoutNormReLU, _ key: String) throws -> Graph.Value {
            let w = module.conv.weight.value.shape
            var y = try b.conv2d(x, Conv2dAttributes(weight: key + ".conv.weight", bias: module.conv.bias == nil ? nil : key + ".conv.bias",
                                                      outputChannels: w[0], kernel: w[2], stride: module.conv.stride,
                                                      padding: module.conv.padding), name: key + ".conv")
            y = try b.instanceNorm(y, InstanceNormAttributes(affinePrefix: key + ".norm."), name: key + ".norm")
            return try b.leakyReLU(y, slope: 0.01, name: key + ".nonlin")
        }
        var x = b.input
        var skips: [Graph.Value] = []
        for (s, blocks) in encoder.enumerated() {
            for (i, module) in blocks.enumerated() { x = try block(x, module, "encoder.stages.\(s).0.convs.\(i)") }
            skips.append(x)
        }
        for (i, blocks) in decoder.enumerated() {
            let stride = c.strides[c.features.count - 1 - i]
            x = try b.convTranspose2d(x, ConvTranspose2dAttributes(
                weight: "decoder.transpconvs.\(i).weight", bias: c.convolutionBias ? "decoder.transpconvs.\(i).bias" : nil,
                outputChannels: transposed[i].weight.value.shape[1], kernel: stride, stride: stride), name: "decoder.transpconvs.\(i)")
            x = try b.concat([x, skips[skips.count - 2 - i]], name: "decoder.stages.\(i).cat")
            for (j, module) in blocks.enumerated() { x = try block(x, module, "decoder.stages.\(i).convs.\(j)") }
        }
        let head = "decoder.seg_layers.\(heads.count - 1)"
        return b.graph(output: try b.conv2d(x, Conv2dAttributes(weight: head + ".weight", bias: head + ".bias", outputChannels: c.classes,
                                                                 kernel: 1), name: head))
    }
}
