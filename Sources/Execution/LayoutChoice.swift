import DNNL
import Graph

/// The layout pass: the layout each value keeps between ops. Channels in blocks of the CPU's vector width
/// (`nChw16c` on AVX-512, `nChw8c` on AVX2: what oneDNN's kernels run fastest on) where a value has a multiple of that
/// many channels; channels-last (NHWC) where it has not, because oneDNN 2.6 has no optimized convolution for a padded
/// block (8 channels in a block of 16) or a block the CPU's vectors do not match, and would run its reference loops,
/// two orders of magnitude slower.
///
/// An op runs in one layout: blocked where its output and its inputs fill blocks, else channels-last; each input in
/// another layout reaches it through a `convert` node (one reorder, its gradient reordered back). So a network whose
/// narrow maps sit at its edges (MONAI's `UNet`, whose top level ends in 2-class maps) runs blocked everywhere else.
/// The input takes the layout its first convolution prefers where only convolutions read it; a convolution writing
/// the output from blocked maps may leave its last block part empty; the output is reordered to NCHW at the boundary.
/// A multiply's gate (`(N, C, 1, 1)` or `(N, 1, H, W)`) is read in the layout it was made in. On maps that fill no
/// block, PReLU, and batch and instance norm where the channels are not a multiple of 4, run NCHW instead: there
/// oneDNN 2.6's channels-last kernels for them take 3 to 30 times as long (2 channels at 256², batch 2: batch norm 1.6
/// against 0.28 ms forward, PReLU 0.68 against 0.02), converting to and from the convolutions' NHWC 0.05 ms each; its
/// channels-last batch norm for multiples of 4 is a vector kernel, 2 to 6 times faster than its NCHW one. A grouped
/// convolution whose groups split the blocks (ResNeXt's 32 groups of 4 channels) runs channels-last too.
/// Switched off: NCHW everywhere. An int8 network runs channels-last (but for the convolutions of the image on AVX2):
/// oneDNN 2.6's int8 convolutions take NHWC only (on AVX2 and AVX-512 alike). So does an inference network with
/// depthwise convolutions on AVX-512 (the mobile encoders: `runsChannelsLast`), and, in float32 inference on AVX-512,
/// every op that reads and writes only small maps (`isSmallMap`), but for a convolution that oneDNN's small Winograd
/// kernel runs faster in the blocks (`Conv2dKernel.suitsSmallWinograd`, where the `winograd` pass is on).
enum LayoutChoice {
    /// The graph with the conversions between layouts, each value's precision (the conversions keep their input's)
    /// and each value's layout.
    static func apply(to graph: Graph, precisions: [Precision], enabled: Bool, training: Bool, int8: Bool = false,
                      winograd: Bool = false)
        -> (graph: Graph, precisions: [Precision], formats: [FormatTag])
    {
        guard enabled else { return (graph, precisions, Array(repeating: .abcd, count: graph.shapes.count)) }
        guard let block = CPUISA.channelBlock else { return (graph, precisions, Array(repeating: .acdb, count: graph.shapes.count)) }
        let channelsLast = int8 || Self.runsChannelsLast(graph, training: training)
        let smallMapsChannelsLast = !channelsLast && !training && CPUISA.hasAVX512
        func small(_ value: Graph.Value) -> Bool {
            precisions[value.id] == .fp32 && Self.isSmallMap(graph.shape(value))
        }
        // Whether `node`, reading `read`, runs channels-last for its small maps: a one-pixel map where the map it is
        // made from is, but not a convolution of oneDNN's small Winograd kernel.
        func runsOnSmallMaps(_ node: Graph.Node, reading read: [Graph.Value]) -> Bool {
            guard smallMapsChannelsLast, small(node.output), !(winograd && Conv2dKernel.suitsSmallWinograd(node, in: graph)) else {
                return false
            }
            let output = graph.shape(node.output)
            return output[2] * output[3] == 1 ? formats[node.inputs[0].id] == .acdb : read.allSatisfy(small)
        }
        let blocked: FormatTag = block == 16 ? .aBcd16b : .aBcd8b
        func fills(_ value: Graph.Value) -> Bool { graph.shape(value)[1] % block == 0 }
        // The input keeps a layout of its own only where convolutions alone read it (they take any layout).
        let inputAlone = graph.onlyConvolutionsReadInput
        var rewritten = graph
        rewritten.nodes = []
        var (precisions, formats) = (precisions, Array(repeating: blocked, count: graph.shapes.count))
        formats[graph.input.id] = fills(graph.input) ? blocked : .acdb
        for node in graph.nodes {
            var node = node
            // A gate broadcasts from the layout its producer chose: only the maps take the op's (a gated residual's gate
            // is its last input).
            let laidOut = switch node.op {
            case .multiply: 1
            case .gatedResidual: 2
            default: node.inputs.count
            }
            let read = node.inputs.prefix(laidOut).filter { !(inputAlone && $0 == graph.input) }
            // The output may leave channels of its last block unused where a convolution writes it (a head of 2 classes).
            var outputFits = fills(node.output)
            if case .conv2d = node.op, graph.isOutput(node.output) { outputFits = true }
            // int8: channels-last, but for a convolution of the image on AVX2 (there oneDNN 2.6 has no optimized
            // float32 kernel for a few input channels into NHWC: a reorder after it costs a hundredth of its reference
            // loops; AVX-512's brgconv takes NHWC at the blocked kernel's speed).
            let convolvesImage = if case .conv2d = node.op { node.inputs.contains(graph.input) } else { false }
            let mayBlock = (!channelsLast || (convolvesImage && !CPUISA.hasAVX512)) && !Self.groupsSplitBlocks(node.op, block: block)
                && !runsOnSmallMaps(node, reading: read)
            let own: FormatTag = mayBlock && outputFits && read.allSatisfy(fills) ? blocked
                : !int8 && Self.runsFasterPlain(node.op, channels: graph.shape(node.output)[1]) ? .abcd : .acdb
            for (k, input) in node.inputs.prefix(laidOut).enumerated() where formats[input.id] != own && !(inputAlone && input == graph.input) {
                let converted = rewritten.newValue(shape: graph.shape(input))
                precisions.append(precisions[input.id])
                formats.append(own)
                rewritten.nodes.append(Graph.Node(op: .convert(to: precisions[input.id]), inputs: [input], output: converted,
                                                  name: "\(node.name).\(own == .acdb ? "to_nhwc" : own == .abcd ? "to_nchw" : "to_blocked")"))
                node.inputs[k] = converted
            }
            formats[node.output.id] = own
            rewritten.nodes.append(node)
        }
        return (rewritten, precisions, formats)
    }

    /// Whether an inference network runs channels-last throughout, as an int8 one does: where it has depthwise
    /// convolutions (which take NHWC only, `groupsSplitBlocks`) on AVX-512, whose brgconv kernels run every other
    /// convolution in NHWC too. Blocked, each depthwise convolution sat between two reorders from and back to the
    /// blocked 1x1 convolutions around it (README, "Mobile encoders channels-last throughout"). Not on AVX2, where a
    /// float32 convolution of the image into NHWC has no optimized kernel, nor in training.
    static func runsChannelsLast(_ graph: Graph, training: Bool) -> Bool {
        guard !training, CPUISA.hasAVX512 else { return false }
        return graph.nodes.contains { node in
            guard case .conv2d(let a) = node.op, a.groups > 1 else { return false }
            return a.groups == a.outputChannels && a.groups == graph.shape(node.inputs[0])[1]
        }
    }

    /// Whether a float32 map of `shape` (`(N, C, H, W)`) is small enough that an inference network on AVX-512 runs the
    /// ops that only read and write such maps channels-last: fewer than 512 pixels over the batch (16x16 at batch 1, 8x8
    /// at batch 4). There oneDNN's NHWC brgconv kernels beat both its blocked direct kernels and its Winograd ones
    /// (`Sources/Execution/README.md`, "Small maps channels-last"). An op writing one pixel per image (a
    /// squeeze-and-excitation branch) runs channels-last only where its first input is: the gate it ends in is read in
    /// the layout of the map it scales.
    static func isSmallMap(_ shape: [Int]) -> Bool {
        shape.count == 4 && shape[0] * shape[2] * shape[3] < 512
    }

    /// Whether `op` is a grouped convolution whose groups hold channels that fill no block (ResNeXt-50's 32 groups of
    /// 4 to 32): oneDNN 2.6 has no blocked kernel for a group boundary inside a block and runs its reference loops.
    private static func groupsSplitBlocks(_ op: Op, block: Int) -> Bool {
        guard case .conv2d(let a) = op, a.groups > 1 else { return false }
        return (a.outputChannels / a.groups) % block != 0
    }

    /// Whether an op's NCHW kernel beats its channels-last one on a map of `channels` that fills no channel block.
    private static func runsFasterPlain(_ op: Op, channels: Int) -> Bool {
        switch op {
        case .prelu: true
        case .batchNorm, .instanceNorm: channels % 4 != 0
        default: false
        }
    }
}
