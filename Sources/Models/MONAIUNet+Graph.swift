import Graph

extension MONAIUNet {
    /// The network as a graph for input `(N, C_in, H, W)`, parameters named by MONAI's `state_dict` keys.
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take.
    public func graph(inputShape: [Int]) throws -> Graph {
        try checkInput(inputShape)
        let b = GraphBuilder(inputShape: inputShape)
        // Level i: down, the deeper levels (or the bottom), [down, deeper] concatenated (MONAI's SkipConnection), up.
        func level(_ i: Int, _ x: Graph.Value) throws -> Graph.Value {
            let skip = try down[i].apply(b, x, key: Self.prefix(i) + ".0")
            let deeper = i == down.count - 1
                ? try bottom.apply(b, skip, key: Self.prefix(i + 1)) : try level(i + 1, skip)
            var y = try b.concat([skip, deeper], name: Self.prefix(i) + ".1")
            for (block, key) in zip(up[i], upKeys(i)) { y = try block.apply(b, y, key: key) }
            return y
        }
        return b.graph(output: try level(0, b.input))
    }
}
