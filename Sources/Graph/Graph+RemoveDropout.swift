extension Graph {
    /// Inference: the graph without its dropout nodes (`Op.dropout`), each reader of one reading its input, as
    /// `eval()` makes PyTorch's dropout the identity. Not a pass that can be switched off: it is what inference means.
    public func removingDropout() -> Graph {
        var removed = Set<Int>()
        var replacement: [Value: Value] = [:]
        for (index, node) in nodes.enumerated() {
            guard case .dropout = node.op else { continue }
            replacement[node.output] = replacement[node.inputs[0]] ?? node.inputs[0]
            removed.insert(index)
        }
        return removed.isEmpty ? self : removing(removed, replacing: replacement)
    }
}
