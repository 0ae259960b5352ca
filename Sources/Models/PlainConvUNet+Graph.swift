import Graph

extension PlainConvUNet {
    /// The network as a graph for input `(N, C_in, H, W)`, parameters named by the package's `state_dict` keys; its
    /// output is the full-resolution head's logits (the other heads serve deep supervision in nnU-Net's training).
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take.
    public func graph(inputShape: [Int]) throws -> Graph { try graph(inputShape: inputShape, deepSupervision: false) }

    /// `graph(inputShape:)` with every lower-resolution head's logits as auxiliary outputs, the largest first, as the
    /// package's `deep_supervision=True` returns them after the full-resolution head's.
    public func deepSupervisionGraph(inputShape: [Int]) throws -> Graph? { try graph(inputShape: inputShape, deepSupervision: true) }

    private func graph(inputShape: [Int], deepSupervision: Bool) throws -> Graph {
        try checkInput(inputShape)
        let b = GraphBuilder(inputShape: inputShape)
        var x = b.input
        var skips: [Graph.Value] = []
        for (s, blocks) in encoder.enumerated() {
            for (i, block) in blocks.enumerated() { x = try block.apply(b, x, key: "encoder.stages.\(s).0.convs.\(i)") }
            skips.append(x)
        }
        let heads = try decoder.apply(b, skips: skips, key: "decoder", allHeads: deepSupervision)
        return b.graph(output: heads[0], auxiliaryOutputs: Array(heads.dropFirst()))
    }
}
