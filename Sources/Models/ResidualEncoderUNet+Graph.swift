import Graph

extension ResidualEncoderUNet {
    /// The network as a graph for input `(N, C_in, H, W)`, parameters named by the package's `state_dict` keys; its
    /// output is the full-resolution head's logits.
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take.
    public func graph(inputShape: [Int]) throws -> Graph {
        try checkInput(inputShape)
        let b = GraphBuilder(inputShape: inputShape)
        var x = try stem.apply(b, b.input, key: "encoder.stem.convs.0")
        var skips: [Graph.Value] = []
        for (s, blocks) in stages.enumerated() {
            for (i, block) in blocks.enumerated() { x = try block.apply(b, x, key: "encoder.stages.\(s).blocks.\(i)") }
            skips.append(x)
        }
        return b.graph(output: try decoder.apply(b, skips: skips, key: "decoder"))
    }
}
