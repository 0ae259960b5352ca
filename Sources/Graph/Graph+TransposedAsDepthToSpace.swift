extension Graph {
    /// A transposed convolution whose kernel equals its stride `k` (no padding, dilation or groups) becomes a 1x1
    /// convolution to `k²·C_out` channels followed by a depth-to-space rearrangement: each input pixel's `k×k` output
    /// patch is a matrix product with the weight, and the 1x1 convolution computes all of them at once.
    public func rewritingTransposedConvolutions() -> Graph {
        var graph = self
        graph.nodes = []
        for node in nodes {
            guard case .convTranspose2d(let t) = node.op, t.isDepthToSpace else {
                graph.nodes.append(node)
                continue
            }
            let k = t.kernel[0]
            let x = shape(node.inputs[0])
            var pointwise = Conv2dAttributes(weight: t.weight, bias: t.bias, outputChannels: k * k * t.outputChannels, kernel: 1)
            pointwise.weightSource = .transposedAsPointwise(block: k, outputChannels: t.outputChannels)
            let expanded = graph.newValue(shape: [x[0], k * k * t.outputChannels, x[2], x[3]])
            graph.nodes.append(Node(op: .conv2d(pointwise), inputs: node.inputs, output: expanded, name: node.name + ".pointwise"))
            graph.nodes.append(Node(op: .depthToSpace(block: k), inputs: [expanded], output: node.output,
                                    name: node.name + ".depth_to_space"))
        }
        return graph
    }
}
