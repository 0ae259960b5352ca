extension Graph {
    /// Inference: the sum of a convolution's output, read by nothing else, and another map `r` (a residual block's
    /// `conv(x) + identity`) becomes the convolution adding into `r` (`accumulates`: oneDNN's `sum` post-op, in `r`'s
    /// storage), placed where the addition was. So every other reader of `r` must run before the addition (counting
    /// convolutions this pass moves at their new places), and `r` must not be the convolution's own input, the
    /// network's input or an output. A ReLU or leaky ReLU that alone reads the sum becomes the convolution's post-op.
    /// The convolution keeps its name, so int8 tables made before still name it. Training keeps the addition: backward
    /// reads `r`.
    public func fusingResidualAdds() -> Graph {
        let consumers = self.consumers
        // Each fusable addition's convolution and the map it adds into, by the addition's index.
        var fused: [Int: (convolution: Int, into: Value)] = [:]
        for (index, node) in nodes.enumerated() {
            guard case .add = node.op, node.inputs.count == 2, node.inputs[0] != node.inputs[1] else { continue }
            for (made, r) in [(node.inputs[0], node.inputs[1]), (node.inputs[1], node.inputs[0])] {
                guard !isOutput(made), consumers[made] == [index], r != input, !isOutput(r), shape(made) == shape(r),
                      let producer = producerIndex(of: made),
                      case .conv2d(let conv) = nodes[producer].op, !conv.accumulates, conv.activation == nil,
                      conv.weightInputChannels == nil, nodes[producer].inputs[0] != r else { continue }
                fused[index] = (producer, r)
                break
            }
        }
        // Drop those whose map another reader would read after it is overwritten, the earliest first, until none is
        // left (dropping one only moves its convolution back, earlier).
        while true {
            var place: [Int: Int] = [:]
            for (index, f) in fused { place[f.convolution] = index }
            guard let late = fused.keys.sorted().first(where: { index in
                (consumers[fused[index]!.into] ?? []).contains { $0 != index && (place[$0] ?? $0) >= index }
            }) else { break }
            fused[late] = nil
        }
        var graph = self
        var removed = Set<Int>()
        var replacement: [Value: Value] = [:]
        for (index, f) in fused {
            guard case .conv2d(var conv) = nodes[f.convolution].op else { continue }
            conv.accumulates = true
            let sum = nodes[index].output
            if let (reader, activation) = soleActivation(reading: sum, consumers: consumers) {
                conv.activation = activation
                removed.insert(reader)
                replacement[nodes[reader].output] = sum
            }
            removed.insert(f.convolution)
            graph.nodes[index] = Node(op: .conv2d(conv), inputs: [nodes[f.convolution].inputs[0], f.into], output: sum,
                                      name: nodes[f.convolution].name)
        }
        return graph.removing(removed, replacing: replacement)
    }

    /// The activation that alone reads `value` (not an output), with its node's index, which a pass folding `value`'s
    /// producer into one op takes as that op's post-op.
    func soleActivation(reading value: Value, consumers: [Value: [Int]]) -> (index: Int, activation: Activation)? {
        guard !isOutput(value), let readers = consumers[value], readers.count == 1, let activation = Activation(nodes[readers[0]].op) else {
            return nil
        }
        return (readers[0], activation)
    }
}
