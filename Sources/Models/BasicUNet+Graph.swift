import Graph

extension BasicUNet {
    /// The network as a graph for input `(N, C_in, H, W)`, parameters named by MONAI's `state_dict` keys.
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take.
    public func graph(inputShape: [Int]) throws -> Graph {
        try checkInput(inputShape)
        let b = GraphBuilder(inputShape: inputShape)
        var x = b.input
        var skips: [Graph.Value] = []
        for (level, convs) in encoder.enumerated() {
            let key = level == 0 ? "conv_0" : "down_\(level)"
            if level > 0 { x = try b.maxPool(x, PoolAttributes(kernel: 2, stride: 2), name: key + ".max_pooling") }
            for (j, conv) in convs.enumerated() { x = try conv.apply(b, x, key: level == 0 ? "\(key).conv_\(j)" : "\(key).convs.conv_\(j)") }
            skips.append(x)
        }
        for (i, (up, convs)) in decoder.enumerated() {
            let key = "upcat_\(4 - i)"
            let skip = skips[3 - i]
            x = try b.convTranspose2d(x, ConvTranspose2dAttributes(
                weight: key + ".upsample.deconv.weight", bias: up.bias == nil ? nil : key + ".upsample.deconv.bias",
                outputChannels: up.weight.value.shape[1], kernel: 2, stride: 2), name: key + ".upsample")
            let (have, want) = (b.shape(x), b.shape(skip))
            if have[2] != want[2] || have[3] != want[3] {
                x = try b.pad(x, PadAttributes(top: 0, bottom: want[2] - have[2], left: 0, right: want[3] - have[3], mode: .replicate),
                              name: key + ".pad")
            }
            x = try b.concat([skip, x], name: key + ".cat")
            for (j, conv) in convs.enumerated() { x = try conv.apply(b, x, key: "\(key).convs.conv_\(j)") }
        }
        let classes = configuration.classes
        return b.graph(output: try b.conv2d(x, Conv2dAttributes(weight: "final_conv.weight", bias: "final_conv.bias", outputChannels: classes,
                                                                 kernel: 1), name: "final_conv"))
    }
}
