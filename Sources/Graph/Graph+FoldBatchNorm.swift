extension Graph {
    /// Inference: each eval-mode batch norm whose input is a convolution's output read by nothing else, directly or
    /// through a depth-to-space rearrangement or an interleave (`convolutions(behind:consumers:)`), becomes part of
    /// that convolution, or of each interleaved one (`Conv2dAttributes.foldedNorm`): `w·γ/√(σ²+ε)`,
    /// `(b − μ)·γ/√(σ²+ε) + β`, each of the convolution's channels taking the statistics of the channel it becomes.
    public func foldingBatchNorm() -> Graph {
        let consumers = self.consumers
        var graph = self
        var removed = Set<Int>()
        var replacement: [Value: Value] = [:]
        for (index, node) in nodes.enumerated() {
            guard case .batchNorm(let norm) = node.op, norm.activation == nil, consumers[node.inputs[0]] == [index],
                  !isOutput(node.inputs[0]), let made = producerIndex(of: node.inputs[0]),
                  let targets = convolutions(behind: made, consumers: consumers) else { continue }
            let folded: [Conv2dAttributes] = targets.compactMap { target in
                guard case .conv2d(var conv) = nodes[target].op, conv.foldedNorm == nil, conv.activation == nil, !conv.accumulates else {
                    return nil
                }
                conv.foldedNorm = norm
                return conv
            }
            guard folded.count == targets.count else { continue }
            for (target, conv) in zip(targets, folded) {
                graph.nodes[target].op = .conv2d(conv)
                graph.nodes[target].name += "+" + node.name
            }
            replacement[node.output] = node.inputs[0]
            removed.insert(index)
        }
        return graph.removing(removed, replacing: replacement)
    }

    /// The graph without the nodes at `indices`, every read of a key of `replacement` reading its value instead.
    func removing(_ indices: Set<Int>, replacing replacement: [Value: Value]) -> Graph {
        var graph = self
        graph.nodes = nodes.enumerated().filter { !indices.contains($0.offset) }.map { _, node in
            var node = node
            node.inputs = node.inputs.map { replacement[$0] ?? $0 }
            return node
        }
        graph.output = replacement[output] ?? output
        graph.auxiliaryOutputs = auxiliaryOutputs.map { replacement[$0] ?? $0 }
        return graph
    }
}
