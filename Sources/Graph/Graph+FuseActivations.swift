extension Graph {
    /// A ReLU, leaky ReLU or ReLU6 (in inference, also a SiLU) whose input is a convolution's output read by nothing else,
    /// directly or through a depth-to-space rearrangement or an interleave (`convolutions(behind:consumers:)`), becomes
    /// the post-op of that convolution, or of each interleaved one; a ReLU after a batch norm becomes part of it (oneDNN's
    /// `fuse_norm_relu`, whose backward needs only the normalization's input, statistics and a mask of which outputs it
    /// zeroed); in inference (not `training`), a ReLU or leaky ReLU after an instance norm becomes its post-op.
    public func fusingActivations(training: Bool) -> Graph {
        let consumers = self.consumers
        var graph = self
        var removed = Set<Int>()
        var replacement: [Value: Value] = [:]
        for (index, node) in nodes.enumerated() {
            // SiLU's backward reads its input, which a fused convolution does not keep.
            guard let activation = Activation(node.op), activation != .silu || !training else { continue }
            let input = node.inputs[0]
            guard !isOutput(input), consumers[input] == [index], let made = producerIndex(of: input) else { continue }
            let targets = convolutions(behind: made, consumers: consumers) ?? [made]
            let fused: [Op] = targets.compactMap { target in
                switch graph.nodes[target].op {
                case .conv2d(var conv) where conv.activation == nil:
                    conv.activation = activation
                    return .conv2d(conv)
                case .batchNorm(var norm) where norm.activation == nil && activation == .relu:
                    norm.activation = activation
                    return .batchNorm(norm)
                case .instanceNorm(var norm) where norm.activation == nil && !training && activation != .silu && activation != .relu6:
                    norm.activation = activation
                    return .instanceNorm(norm)
                default:
                    return nil
                }
            }
            guard fused.count == targets.count else { continue }
            for (target, op) in zip(targets, fused) {
                graph.nodes[target].op = op
                graph.nodes[target].name += "+" + node.name
            }
            replacement[node.output] = input
            removed.insert(index)
        }
        return graph.removing(removed, replacing: replacement)
    }
}
