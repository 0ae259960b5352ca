extension Graph {
    /// Inference: a 3x3 convolution (stride 1, padding 1, one group) of a nearest 2x up-sampling — smp's decoder
    /// blocks, a split part reading the up-sampled map as well as a whole convolution — becomes four 2x2 convolutions
    /// of the map before the up-sampling, one per output phase `(a, b)` (the pixels `(2m + a, 2n + b)`, whose 3x3 window
    /// covers 2x2 input pixels: `Conv2dAttributes.WeightSource.upsampledAsPhase`), and an interleave of the four. Each
    /// output pixel then takes 4 multiply-adds per input channel instead of 9, and the up-sampled map is not made.
    /// The bias, a folded batch norm and an activation go with each phase. Where anything else reads the up-sampled map
    /// (or it is an output), the convolutions stay.
    public func rewritingUpsampledConvolutions() -> Graph {
        let consumers = self.consumers
        func readsAsPhases(_ index: Int) -> Bool {
            guard case .conv2d(let a) = nodes[index].op else { return false }
            return a.kernel == [3, 3] && a.stride == [1, 1] && a.padding == [1, 1, 1, 1] && a.dilation == [1, 1]
                && a.groups == 1 && a.weightSource == .conv2d && !a.accumulates && nodes[index].inputs.count == 1
        }
        // The nearest 2x up-sampling that makes `value`, where only such convolutions read it.
        func doubling(_ value: Value) -> Node? {
            guard !isOutput(value), let up = producer(of: value), case .upsample(let u) = up.op, u.mode == .nearest else { return nil }
            let x = shape(up.inputs[0])
            return u.size == [2 * x[2], 2 * x[3]] && consumers[value]?.allSatisfy(readsAsPhases) == true ? up : nil
        }
        var graph = self
        graph.nodes = []
        var removed = Set<Value>()
        for node in nodes {
            guard case .conv2d(let conv) = node.op, let up = doubling(node.inputs[0]) else {
                graph.nodes.append(node)
                continue
            }
            removed.insert(node.inputs[0])
            graph.appendPhases(of: node.name, inputs: up.inputs, size: shape(up.inputs[0]), output: node.output) { a, b in
                var phase = conv
                (phase.kernel, phase.padding) = ([2, 2], [1 - a, a, 1 - b, b])
                phase.weightSource = .upsampledAsPhase(row: a, column: b)
                return phase
            }
        }
        graph.nodes.removeAll { removed.contains($0.output) }
        return graph
    }
}
