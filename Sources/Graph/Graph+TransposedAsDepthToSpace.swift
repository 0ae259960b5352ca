extension Graph {
    /// A transposed convolution whose kernel equals its stride `k` (no padding, dilation or groups) becomes a 1x1
    /// convolution to `k²·C_out` channels followed by a depth-to-space rearrangement: each input pixel's `k×k` output
    /// patch is a matrix product with the weight, and the 1x1 convolution computes all of them at once. For inference
    /// (not `training`), a kernel-3 stride-2 one that doubles the size (`ConvTranspose2dAttributes.isSubpixel`) becomes
    /// a 2x2 convolution to `4·C_out` channels and a depth-to-space rearrangement in the same way: in bf16 and in an `int8`
    /// network always (oneDNN 2.6's transposed convolutions run in fp32 there, and as a convolution it can be int8), and
    /// in fp32 for fewer than 16 output channels. In fp32 inference with 16 or more it becomes its four phase
    /// convolutions (1x1, 1x2, 2x1 and 2x2: the 9 taps of its kernel, against the 2x2 convolution's 16), each into a
    /// map of its own, and an interleave of the four; a batch norm and an activation after it fold into each. That is
    /// faster than oneDNN's deconvolution and than the 2x2 convolution there; with fewer channels the phases' narrow
    /// outputs run slower than the 2x2 convolution's `4·C_out` (`Sources/Execution/README.md`).
    public func rewritingTransposedConvolutions(training: Bool, precision: Precision, int8: Bool = false) -> Graph {
        var graph = self
        graph.nodes = []
        for node in nodes {
            guard case .convTranspose2d(let t) = node.op else {
                graph.nodes.append(node)
                continue
            }
            // `convolution` (to `block²·C_out` channels, at the input's size) named `suffix`, then depth to space.
            func rewrite(_ convolution: Conv2dAttributes, block: Int, _ suffix: String) {
                let x = shape(node.inputs[0])
                let expanded = graph.newValue(shape: [x[0], convolution.outputChannels, x[2], x[3]])
                graph.nodes.append(Node(op: .conv2d(convolution), inputs: node.inputs, output: expanded, name: node.name + suffix))
                graph.nodes.append(Node(op: .depthToSpace(block: block), inputs: [expanded], output: node.output,
                                        name: node.name + ".depth_to_space"))
            }
            if t.isSubpixel, !training, precision == .bf16 || int8 || t.outputChannels < 16 {
                var subpixel = Conv2dAttributes(weight: t.weight, bias: t.bias, outputChannels: 4 * t.outputChannels, kernel: [2, 2],
                                                stride: [1, 1], padding: [0, 1, 0, 1], dilation: [1, 1], groups: 1)
                subpixel.weightSource = .transposedAsSubpixel(outputChannels: t.outputChannels)
                rewrite(subpixel, block: 2, ".subpixel")
            } else if t.isSubpixel, !training {
                graph.appendPhases(of: node.name, inputs: { _, _ in node.inputs }, size: shape(node.inputs[0]), output: node.output) { a, b in
                    var phase = Conv2dAttributes(weight: t.weight, bias: t.bias, outputChannels: t.outputChannels, kernel: [1 + a, 1 + b],
                                                 stride: [1, 1], padding: [0, a, 0, b], dilation: [1, 1], groups: 1)
                    phase.weightSource = .transposedAsPhase(row: a, column: b, outputChannels: t.outputChannels)
                    return phase
                }
            } else if t.isDepthToSpace {
                let k = t.kernel[0]
                var pointwise = Conv2dAttributes(weight: t.weight, bias: t.bias, outputChannels: k * k * t.outputChannels, kernel: 1)
                pointwise.weightSource = .transposedAsPointwise(block: k, outputChannels: t.outputChannels)
                rewrite(pointwise, block: k, ".pointwise")
            } else {
                graph.nodes.append(node)
            }
        }
        return graph
    }
}
