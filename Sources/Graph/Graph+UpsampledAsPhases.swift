extension Graph {
    /// Inference: a 3x3 convolution (stride 1, padding 1, one group) of a nearest 2x up-sampling — smp's decoder
    /// blocks, a split part reading the up-sampled map as well as a whole convolution — becomes four 2x2 convolutions
    /// of the map before the up-sampling, one per output phase `(a, b)` (the pixels `(2m + a, 2n + b)`, whose 3x3 window
    /// covers 2x2 input pixels: `Conv2dAttributes.WeightSource.upsampledAsPhase`), and an interleave of the four. Each
    /// output pixel then takes 4 multiply-adds per input channel instead of 9, and the up-sampled map is not made.
    /// The bias, a folded batch norm and an activation go with each phase. Where anything else reads the up-sampled map
    /// (or it is an output), the convolutions stay.
    ///
    /// With `partsAddingIn` (int8 inference), a split part that adds into such phases' interleave and nothing else
    /// reads it (the skip's part of smp's decoder convolution: 3x3, stride 1, padding 1, of a map the output's size)
    /// becomes four stride-2 convolutions too, phase `(a, b)` padded `1 − a` above, `a` below, `1 − b` left, `b` right
    /// (the pixels its outputs' windows cover), each adding into the up-sampled map's phase `(a, b)`; the interleave
    /// then moves the finished sums, which an int8 network writes in 8 bits, instead of the partial sum.
    public func rewritingUpsampledConvolutions(partsAddingIn: Bool = false) -> Graph {
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
            graph.appendPhases(of: node.name, inputs: { _, _ in up.inputs }, size: shape(up.inputs[0]), output: node.output) { a, b in
                var phase = conv
                (phase.kernel, phase.padding) = ([2, 2], [1 - a, a, 1 - b, b])
                phase.weightSource = .upsampledAsPhase(row: a, column: b)
                return phase
            }
        }
        graph.nodes.removeAll { removed.contains($0.output) }
        return partsAddingIn ? graph.rewritingPartsAddingIntoPhases() : graph
    }

    /// See `rewritingUpsampledConvolutions(partsAddingIn:)`.
    private func rewritingPartsAddingIntoPhases() -> Graph {
        let consumers = self.consumers
        func isUpsampledPhase(_ value: Value) -> Bool {
            guard let p = producer(of: value), case .conv2d(let c) = p.op, case .upsampledAsPhase = c.weightSource else { return false }
            return !c.accumulates
        }
        // Each part to rewrite, by index, with the index of the interleave it adds into.
        var parts: [Int: Int] = [:]
        for (index, node) in nodes.enumerated() {
            guard case .conv2d(let a) = node.op, a.accumulates, a.kernel == [3, 3], a.stride == [1, 1], a.padding == [1, 1, 1, 1],
                  a.dilation == [1, 1], a.groups == 1, a.weightSource == .conv2d, !isOutput(node.inputs[1]),
                  consumers[node.inputs[1]] == [index], let made = producerIndex(of: node.inputs[1]),
                  nodes[made].op == .interleave(block: 2), nodes[made].inputs.allSatisfy(isUpsampledPhase),
                  shape(node.inputs[0])[2...] == shape(node.output)[2...] else { continue }
            parts[index] = made
        }
        let interleaves = Set(parts.values)
        var graph = self
        graph.nodes = []
        for (index, node) in nodes.enumerated() where !interleaves.contains(index) {
            guard let made = parts[index], case .conv2d(let part) = node.op else {
                graph.nodes.append(node)
                continue
            }
            let phases = nodes[made].inputs
            graph.appendPhases(of: node.name, inputs: { a, b in [node.inputs[0], phases[2 * a + b]] }, size: shape(phases[0]),
                               output: node.output) { a, b in
                var phase = part
                (phase.stride, phase.padding) = ([2, 2], [1 - a, a, 1 - b, b])
                return phase
            }
        }
        return graph
    }
}
