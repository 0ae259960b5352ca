extension Graph {
    /// Inference: `x · g + r`, a map multiplied by a channel gate `g` `(N, C, 1, 1)` whose product nothing else reads,
    /// added to another map `r` (a squeeze-and-excitation block's `se(x) + identity`), becomes one `gatedResidual` node
    /// of inputs `[x, r, g]` in the addition's place, with the ReLU (or another activation) that alone reads the sum.
    /// `r` may not be the product itself. Training keeps the three ops: their backward reads the product and the sum.
    public func fusingGatedResiduals() -> Graph {
        let consumers = self.consumers
        var graph = self
        var removed = Set<Int>()
        var replacement: [Value: Value] = [:]
        for (index, node) in nodes.enumerated() {
            guard case .add = node.op, node.inputs.count == 2, node.inputs[0] != node.inputs[1] else { continue }
            for (product, r) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
                guard !isOutput(product), consumers[product] == [index], let made = producerIndex(of: product),
                      case .multiply = nodes[made].op else { continue }
                let (x, g) = (nodes[made].inputs[0], nodes[made].inputs[1])
                guard shape(g) == [shape(x)[0], shape(x)[1], 1, 1], shape(r) == shape(x) else { continue }
                let sum = node.output
                let activation = soleActivation(reading: sum, consumers: consumers)
                if let reader = activation?.index {
                    removed.insert(reader)
                    replacement[nodes[reader].output] = sum
                }
                removed.insert(made)
                graph.nodes[index] = Node(op: .gatedResidual(activation: activation?.activation), inputs: [x, r, g], output: sum, name: node.name)
                break
            }
        }
        return graph.removing(removed, replacing: replacement)
    }
}
