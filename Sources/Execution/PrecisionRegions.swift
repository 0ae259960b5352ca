import DNNL
import Graph

/// The precision pass of a bf16 network: every value's precision, with a conversion where a region of another
/// precision begins.
///
/// Regions are resolution levels (`Graph.levels`). In training, a level below the first runs in fp32 where it is at
/// least 256 channels wide on at least 1024 pixels (batch × height × width) and oneDNN would run its convolutions as
/// fp32 Winograd within the scratchpad limit (their backward-data passes too), unless bf16 convolutions run on AMX:
/// F(4x4, 3x3) Winograd does a quarter of the multiplications, so at half the bf16 rate it beats bf16 direct there,
/// while on fewer pixels or narrower levels its transforms cost more than they save (measured in
/// `Sources/Execution/README.md`); the first level keeps bf16: its maps are the network's largest, and halving them is
/// what bf16 saves in memory. In inference, a level that computes only with 3x3 and 1x1 convolutions (the classic
/// U-Net, batch norm folded) runs in fp32 from 128 channels on 32x32 pixels per image, the first level too, where its
/// convolutions all run as Winograd within the bf16 network's limit (in a batch, per image where that halves the
/// scratchpad: `Conv2dKernel.runsPerImage`); a 64-channel level gains nothing there that its conversions and doubled
/// maps do not cost; other levels (strided convolutions, normalizations, unfused activations, which fp32 would slow
/// more than Winograd speeds up) stay bf16. The 1x1 convolution of a transposed convolution (`feedsDepthToSpace`) runs
/// in bf16 at any level in inference.
///
/// Convolutions, normalizations and activations run in their output's level's precision (but for the ops oneDNN
/// runs slower in bf16, `slowerInBF16`, which stay fp32); ops that only move data (pooling, padding, cropping,
/// concatenation, depth-to-space, up-sampling, addition, a gate's multiply) in their first input's, so a pooled map
/// is converted after pooling (the smaller map). A conversion right after a depth-to-space is done by its reorder.
/// Switched off (or in fp32 networks): one precision everywhere.
enum PrecisionRegions {
    static func apply(to graph: Graph, precision: Precision, training: Bool, enabled: Bool, winogradScratchLimit: Int?)
        -> (graph: Graph, precisions: [Precision])
    {
        guard precision == .bf16, enabled, !CPUISA.hasAMX else {
            return (graph, Array(repeating: precision, count: graph.shapes.count))
        }
        let levels = graph.levels
        let consumers = graph.consumers
        let limit = winogradScratchLimit ?? Lowering.winogradScratchLimit(graph, precision: precision)
        let width = { (node: Graph.Node) in min(graph.shape(node.inputs[0])[1], graph.shape(node.output)[1]) }
        var fp32Levels = Set<Int>()
        for level in Set(levels) {
            let convolutions = graph.nodes.filter { levels[$0.output.id] == level && $0.op.isConvolution3x3 }
            guard let widest = convolutions.max(by: { width($0) < width($1) }) else { continue }
            let x = graph.shape(widest.inputs[0])
            let wideEnough = training
                ? level > 0 && graph.shape(widest.output)[1] >= 256 && x[0] * x[2] * x[3] >= 1024
                : computesOnlyWithPlainConvolutions(level, graph, levels) && width(widest) >= 128 && x[2] * x[3] >= 1024
            // Every convolution of the level must fit the budget: one left to fp32 direct would take twice bf16's time.
            guard wideEnough, convolutions.allSatisfy({
                !Conv2dKernel.suitsWinograd($0, in: graph, training: training)
                    || runsWinogradInFP32($0, in: graph, training: training, limit: limit)
            }) else { continue }
            fp32Levels.insert(level)
        }
        var rewritten = graph
        rewritten.nodes = []
        var precisions = Array(repeating: precision, count: graph.shapes.count)
        for node in graph.nodes {
            var node = node
            let own: Precision = node.op.onlyMovesData
                ? precisions[node.inputs[0].id]
                : (fp32Levels.contains(levels[node.output.id]) && (training || !feedsDepthToSpace(node, graph, consumers))
                   || slowerInBF16(node, graph) ? .fp32 : .bf16)
            for (k, input) in node.inputs.enumerated() where precisions[input.id] != own {
                if let producer = rewritten.nodes.first(where: { $0.output == input }), case .depthToSpace = producer.op,
                   consumers[input]?.count == 1 {
                    precisions[input.id] = own
                    continue
                }
                let converted = rewritten.newValue(shape: graph.shape(input))
                precisions.append(own)
                rewritten.nodes.append(Graph.Node(op: .convert(to: own), inputs: [input], output: converted,
                                                  name: "\(node.name).to_\(own.rawValue)"))
                node.inputs[k] = converted
            }
            precisions[node.output.id] = own
            rewritten.nodes.append(node)
        }
        return (rewritten, precisions)
    }

    /// An int8 network's float32 convolutions at its edges in bf16, on a CPU with native bf16 kernels (where they run
    /// in about half fp32's time): those reading the image, where only convolutions read it, and the one writing the
    /// logits (directly or through a depth to space) from a map that only it reads, written by an int8 convolution or
    /// by a channels-last instance norm of a float32 map (as in BasicUNet and nnU-Net, whose last norm comes after an
    /// int8 convolution). Their inputs become
    /// bf16 (the image converted where it is copied in, the int8 convolution or the norm, `InstanceNormInt8Kernel`,
    /// writing bf16); they still write float32. `precisions` with those inputs' changed; `formats` by value id.
    static func bf16Edges(of graph: Graph, precisions: [Precision], formats: [FormatTag], quantization: Quantization) -> [Precision] {
        guard CPUISA.hasNativeBF16 else { return precisions }
        var precisions = precisions
        let consumers = graph.consumers
        if graph.onlyConvolutionsReadInput { precisions[graph.input.id] = .bf16 }
        // The logits' convolution writes the output, or the map a depth to space puts in place as the output
        // (`Graph.rewritingNarrowConvolutions()`).
        func writesLogits(_ node: Graph.Node) -> Bool {
            guard !graph.isOutput(node.output) else { return true }
            guard let readers = consumers[node.output], readers.count == 1, case .depthToSpace = graph.nodes[readers[0]].op else { return false }
            return graph.isOutput(graph.nodes[readers[0]].output)
        }
        for (index, node) in graph.nodes.enumerated() where writesLogits(node) {
            let value = node.inputs[0]
            guard case .conv2d = node.op, quantization.inputs[node.name] == nil, value != graph.input, consumers[value] == [index],
                  let producer = graph.producer(of: value) else { continue }
            switch producer.op {
            case .conv2d(let a) where !a.accumulates && quantization.inputs[producer.name] != nil:
                precisions[value.id] = .bf16
            case .instanceNorm where precisions[producer.inputs[0].id] == .fp32 && formats[producer.inputs[0].id] == .acdb
                && formats[value.id] == .acdb:
                precisions[value.id] = .bf16
            default: continue
            }
        }
        return precisions
    }

    /// Ops oneDNN 2.6 runs slower in bf16 than in fp32 (measured on AVX-512 with native bf16, MONAI's tutorial UNet):
    /// a transposed convolution left as one (kernel larger than its stride, so not a depth-to-space, and in training,
    /// where a kernel-3 stride-2 one is not a 2x2 convolution either; its bf16 kernel took twice fp32's time) and batch
    /// norm on maps too narrow for a channel block (its channels-last bf16 kernel took 4.6 times fp32's; where the layout
    /// pass runs it NCHW, `LayoutChoice`, the NCHW bf16 kernel about 4 times). They run in fp32 between conversions.
    private static func slowerInBF16(_ node: Graph.Node, _ graph: Graph) -> Bool {
        switch node.op {
        case .convTranspose2d: return true
        case .batchNorm: return graph.shape(node.output)[1] % (CPUISA.channelBlock ?? 1) != 0
        default: return false
        }
    }

    /// Whether every op of `level` that computes is a 3x3 or a 1x1 stride-1 convolution (a transposed convolution
    /// rewritten as depth-to-space is one), as in the classic U-Net with batch norm folded: anything else (strided
    /// convolutions, normalizations, unfused activations) would run slower in fp32 than Winograd saves.
    private static func computesOnlyWithPlainConvolutions(_ level: Int, _ graph: Graph, _ levels: [Int]) -> Bool {
        graph.nodes.allSatisfy { node in
            guard levels[node.output.id] == level, !node.op.onlyMovesData else { return true }
            guard case .conv2d(let a) = node.op else { return false }
            return node.op.isConvolution3x3 || (a.kernel == [1, 1] && a.stride == [1, 1])
        }
    }

    /// Whether `node` is the convolution of a transposed convolution rewritten as convolution + depth-to-space, its
    /// only reader: a 1x1 convolution, which no Winograd speeds up, so in inference it runs in bf16 (twice fp32's
    /// rate) at any level, the depth-to-space's reorder converting its output.
    private static func feedsDepthToSpace(_ node: Graph.Node, _ graph: Graph, _ consumers: [Graph.Value: [Int]]) -> Bool {
        guard case .conv2d = node.op, let readers = consumers[node.output], readers.count == 1,
              case .depthToSpace = graph.nodes[readers[0]].op else { return false }
        return true
    }

    /// Whether `node`, a 3x3 convolution, would run as Winograd in fp32 within the scratchpad limit (in training,
    /// its backward-data pass too).
    private static func runsWinogradInFP32(_ node: Graph.Node, in graph: Graph, training: Bool, limit: Int) -> Bool {
        guard case .conv2d(let a) = node.op, let block = CPUISA.channelBlock else { return false }
        let format: FormatTag = block == 16 ? .aBcd16b : .aBcd8b
        let geometry = SpatialGeometry(stride: 1, padding: a.padding[0])
        guard let source = try? MemoryDescriptor(dims: graph.shape(node.inputs[0]), format: format),
              let destination = try? MemoryDescriptor(dims: graph.shape(node.output), format: format),
              let weights = try? MemoryDescriptor(dims: [a.outputChannels, graph.shape(node.inputs[0])[1]] + a.kernel, format: .any)
        else { return false }
        func winograd(_ source: MemoryDescriptor, _ destination: MemoryDescriptor) throws -> PrimitiveDescriptor {
            try .convolutionForward(.convolution, training: true, source: source, weights: weights, bias: nil,
                                    destination: destination, geometry: geometry, algorithm: .winograd)
        }
        guard let forward = try? winograd(source, destination) else { return false }
        let fits = forward.memoryDescriptor(.scratchpad).byteCount <= limit
        guard training else {
            // Inference runs it per image where that takes half the scratchpad (`Conv2dKernel.runsPerImage`).
            let batch = source.dims[0]
            guard !fits, batch > 1 else { return fits }
            guard let image = try? winograd(Conv2dKernel.part(source, (0, batch)), Conv2dKernel.part(destination, (0, batch))) else { return false }
            return Conv2dKernel.runsPerImage(whole: forward, image: image) && image.memoryDescriptor(.scratchpad).byteCount <= limit
        }
        guard fits else { return false }
        guard let data = try? PrimitiveDescriptor.convolutionBackwardData(
            .convolution, diffSource: source, weights: weights, diffDestination: destination, geometry: geometry, hint: forward,
            algorithm: .winograd) else { return false }
        return data.memoryDescriptor(.scratchpad).byteCount <= limit
    }
}

extension Op {
    /// A 3x3 stride-1 convolution (what Winograd runs).
    var isConvolution3x3: Bool {
        guard case .conv2d(let a) = self else { return false }
        return a.kernel == [3, 3] && a.stride == [1, 1] && a.dilation == [1, 1] && a.groups == 1
    }

    /// Whether each output value is one of the input's values (max pooling; depth-to-space and the interleave of phase
    /// convolutions, permutations; nearest up-sampling by whole factors, run as oneDNN's resampling): an int8 map passes
    /// through it unchanged in its range.
    func picksAmongValues(_ input: [Int], _ output: [Int]) -> Bool {
        switch self {
        case .maxPool, .depthToSpace, .interleave: true
        case .upsample(let a): UpsampleKernel.resamples(a, input: input, output: output)
        default: false
        }
    }

    /// Whether the op only moves or combines data (no arithmetic a precision would speed up).
    var onlyMovesData: Bool {
        switch self {
        case .maxPool, .avgPool, .globalAvgPool, .pad, .centerCrop, .concat, .depthToSpace, .upsample, .add, .multiply, .gatedResidual,
             .dropout: true
        default: false
        }
    }
}
