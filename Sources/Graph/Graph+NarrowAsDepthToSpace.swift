extension Graph {
    /// Inference: a stride-1 convolution with few output channels on a large map (a segmentation head: smp's 3x3 to
    /// the classes) becomes a stride-`r` convolution computing each `r×r` block of its output at once, to `r²·C_out`
    /// channels, followed by a depth-to-space rearrangement (`Conv2dAttributes.WeightSource.narrowAsPhases`). oneDNN's
    /// kernels vectorize over output channels: with 1 or 2 of them most of each vector is idle; the wider convolution
    /// fills the vectors with `(k + r − 1)²/k²` times the multiply-adds. `r` is 4 for one output channel and 2 for 2 to
    /// 7. The convolution must have an odd square kernel of 3 or more (a 1x1 one gains nothing: its wider form
    /// multiplies 4 or 16 times as much) padded by `(k − 1)/2` on every side, one group, its whole weight, no partial
    /// sum, and a map of at least 64x64 pixels whose sides `r` divides. A fused activation and a folded batch norm go
    /// with it.
    public func rewritingNarrowConvolutions() -> Graph {
        var graph = self
        graph.nodes = []
        for node in nodes {
            guard case .conv2d(let a) = node.op, let r = Self.narrowBlock(a, input: shape(node.inputs[0])), node.inputs.count == 1 else {
                graph.nodes.append(node)
                continue
            }
            let x = shape(node.inputs[0])
            var wide = a
            wide.outputChannels = r * r * a.outputChannels
            // Block (i, j) reads input rows r·i − pad ... r·i − pad + k + r − 2, so the padding stays (k − 1)/2.
            (wide.kernel, wide.stride) = ([a.kernel[0] + r - 1, a.kernel[0] + r - 1], [r, r])
            wide.weightSource = .narrowAsPhases(block: r, outputChannels: a.outputChannels)
            let expanded = graph.newValue(shape: [x[0], wide.outputChannels, x[2] / r, x[3] / r])
            graph.nodes.append(Node(op: .conv2d(wide), inputs: node.inputs, output: expanded, name: node.name))
            graph.nodes.append(Node(op: .depthToSpace(block: r), inputs: [expanded], output: node.output, name: node.name + ".depth_to_space"))
        }
        return graph
    }

    /// The block `rewritingNarrowConvolutions()` computes a convolution's output in, or nil where it keeps it.
    static func narrowBlock(_ a: Conv2dAttributes, input x: [Int]) -> Int? {
        let k = a.kernel[0]
        guard a.outputChannels < 8, a.kernel == [k, k], k >= 3, k % 2 == 1, a.stride == [1, 1], a.dilation == [1, 1],
              a.padding == Array(repeating: (k - 1) / 2, count: 4), a.groups == 1, a.weightInputChannels == nil, !a.accumulates,
              a.weightSource == .conv2d, x[2] * x[3] >= 64 * 64 else { return nil }
        let r = a.outputChannels == 1 ? 4 : 2
        return x[2] % r == 0 && x[3] % r == 0 ? r : nil
    }
}
