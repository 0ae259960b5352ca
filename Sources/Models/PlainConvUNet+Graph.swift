import Graph

extension PlainConvUNet {
    /// The network as a graph for input `(N, C_in, H, W)`, parameters named by the package's `state_dict` keys; its
    /// output is the full-resolution head's logits (the other heads serve deep supervision in nnU-Net's training).
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take.
    public func graph(inputShape: [Int]) throws -> Graph {
        try checkInput(inputShape)
        let b = GraphBuilder(inputShape: inputShape)
        var x = b.input
        var skips: [Graph.Value] = []
        for (s, blocks) in encoder.enumerated() {
            for (i, block) in blocks.enumerated() { x = try block.apply(b, x, key: "encoder.stages.\(s).0.convs.\(i)") }
            skips.append(x)
        }
        return b.graph(output: try decoder.apply(b, skips: skips, key: "decoder"))
    }
}
