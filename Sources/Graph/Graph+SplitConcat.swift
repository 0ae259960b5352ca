extension Graph {
    /// A convolution (one group) whose input is a concatenation read by nothing but such convolutions (a transposed
    /// convolution's phases, `rewritingTransposedConvolutions(training:precision:int8:)`) becomes one convolution per
    /// concatenated input, each multiplying its slice of the weight's input channels, the later ones adding into the
    /// earlier ones' output (`accumulates`): `conv(cat(a, b)) = conv_a(a) + conv_b(b)`, with no concatenated copy,
    /// and backward gives each input its gradient directly. The bias (and a folded batch norm's shift) goes with the
    /// first part, the activation with the last.
    public func splittingConcatenations() -> Graph {
        let consumers = self.consumers
        func splits(_ index: Int) -> Bool {
            guard case .conv2d(let conv) = nodes[index].op else { return false }
            return conv.groups == 1 && conv.weightInputChannels == nil && !conv.accumulates && conv.splitsOverInputChannels
        }
        var graph = self
        graph.nodes = []
        var removed = Set<Value>()
        for (index, node) in nodes.enumerated() {
            guard case .conv2d(let conv) = node.op, splits(index),
                  let concatIndex = producerIndex(of: node.inputs[0]), case .concat = nodes[concatIndex].op,
                  !isOutput(node.inputs[0]), consumers[node.inputs[0]]?.allSatisfy(splits) == true else {
                graph.nodes.append(node)
                continue
            }
            let parts = nodes[concatIndex].inputs
            removed.insert(node.inputs[0])
            var channel = 0
            var partial: Value?
            for (k, part) in parts.enumerated() {
                let width = shape(part)[1]
                var attributes = conv
                attributes.weightInputChannels = channel..<(channel + width)
                attributes.accumulates = partial != nil
                if k > 0 { attributes.bias = nil }
                if k < parts.count - 1 { attributes.activation = nil }
                let last = k == parts.count - 1
                let out = last ? node.output : graph.newValue(shape: shape(node.output))
                graph.nodes.append(Node(op: .conv2d(attributes), inputs: [part] + (partial.map { [$0] } ?? []), output: out,
                                        name: "\(node.name)[\(channel)..<\(channel + width)]"))
                partial = out
                channel += width
            }
        }
        graph.nodes.removeAll { removed.contains($0.output) }
        return graph
    }
}
