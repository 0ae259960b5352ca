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
        func doubles(_ value: Value) -> Bool {
            guard !isOutput(value), let index = producerIndex(of: value), case .upsample(let u) = nodes[index].op,
                  u.mode == .nearest else { return false }
            let x = shape(nodes[index].inputs[0])
            return u.size == [2 * x[2], 2 * x[3]] && consumers[value]?.allSatisfy(readsAsPhases) == true
        }
        var graph = self
        graph.nodes = []
        var removed = Set<Value>()
        for node in nodes {
            guard case .conv2d(let conv) = node.op, doubles(node.inputs[0]), let up = producer(of: node.inputs[0]) else {
                graph.nodes.append(node)
                continue
            }
            removed.insert(node.inputs[0])
            let x = shape(up.inputs[0])
            var phases: [Value] = []
            for a in 0..<2 {
                for b in 0..<2 {
                    var phase = conv
                    (phase.kernel, phase.padding) = ([2, 2], [1 - a, a, 1 - b, b])
                    phase.weightSource = .upsampledAsPhase(row: a, column: b)
                    let output = graph.newValue(shape: [x[0], conv.outputChannels, x[2], x[3]])
                    graph.nodes.append(Node(op: .conv2d(phase), inputs: up.inputs, output: output, name: Self.upsampledPhaseName(node.name, row: a, column: b)))
                    phases.append(output)
                }
            }
            graph.nodes.append(Node(op: .interleave(block: 2), inputs: phases, output: node.output, name: node.name + ".interleave"))
        }
        graph.nodes.removeAll { removed.contains($0.output) }
        return graph
    }

    /// The name of phase `(row, column)` of convolution `name` (`rewritingUpsampledConvolutions()`).
    public static func upsampledPhaseName(_ name: String, row: Int, column: Int) -> String { name + ".phase\(row)\(column)" }
}
