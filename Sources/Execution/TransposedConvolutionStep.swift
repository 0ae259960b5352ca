import DNNL
import NN
import Tensors

/// `ConvTranspose2d(C_in, C_out, kernel 2, stride 2)` for the compiled network. oneDNN 2.6's deconvolution
/// runs this shape at a fraction of its convolution speed, so it runs as what it is: a 1x1 convolution to
/// `4·C_out` channels (channel `(2p + q)·C_out + o` holds output pixel `(2i + p, 2j + q)` of channel `o`)
/// followed by a depth-to-space reorder between two views of the activation layout: 7-D for a blocked layout
/// (`nChw16c` or `nChw8c`, whose plans have every width a multiple of the block), 6-D for NHWC.
final class TransposedConvolutionStep {
    let inputShape: [Int]
    let outputShape: [Int]
    let convolution: ConvolutionStep
    let outputChannels: Int
    /// `(N, 4·C_out, H, W)`, the 1x1 convolution's output (and, in training, its gradient).
    let expanded: Memory
    let diffExpanded: Memory?
    let toSpace: Reorder
    let toDepth: Reorder?
    let expandedView: MemoryDescriptor
    let spaceView: MemoryDescriptor

    /// - Parameter outputPrecision: the precision of the map it writes, when it differs from the context's
    ///   (a level of a mixed-precision plan); the depth-to-space reorder converts (and in training its inverse
    ///   converts the gradient back).
    /// - Precondition: with a blocked layout, `outputChannels` is a multiple of the block.
    init(inputShape: [Int], outputChannels: Int, context: PlanContext, outputPrecision: Precision? = nil) throws {
        precondition(context.channelBlock.map { outputChannels % $0 == 0 } ?? true,
                     "TransposedConvolutionStep: \(outputChannels) channels in blocks of \(context.channelBlock ?? 1)")
        self.inputShape = inputShape
        outputShape = [inputShape[0], outputChannels, 2 * inputShape[2], 2 * inputShape[3]]
        self.outputChannels = outputChannels
        let (type, training) = (context.activationType, context.training)
        let outputType = context.with(precision: outputPrecision ?? context.precision).activationType
        convolution = try ConvolutionStep(.init(
            inputShape: inputShape, outputChannels: 4 * outputChannels, kernelSize: 1, padding: 0, inputGradient: true,
            bias: true), context: context)
        // Transient in both modes: backward needs only the gradient of it, which the reorder regenerates. In
        // training both live in the slot of the blocks' inner gradients, free between blocks.
        expanded = try context.memory(convolution.destination, slot: training ? .diffInner : .hidden)
        diffExpanded = training ? try context.memory(convolution.destination, slot: .diffInner) : nil
        // Views of the expanded map and of the (N, C_out, 2H, 2W) output whose reorder is the depth-to-space
        // permutation: 7-D (n, o/b, p, q, i, j, o%b) for blocks of b channels, 6-D (n, p, q, i, j, o) for NHWC.
        let (n, h, w, c) = (inputShape[0], inputShape[2], inputShape[3], outputChannels)
        if let b = context.channelBlock {
            let (blocks, plane) = (c / b, h * w * b)
            let dims = [n, blocks, 2, 2, h, w, b]
            expandedView = try MemoryDescriptor(
                dims: dims, dataType: type, strides: [4 * c * h * w, plane, 2 * blocks * plane, blocks * plane, w * b, b, 1])
            spaceView = try MemoryDescriptor(
                dims: dims, dataType: outputType, strides: [4 * c * h * w, 4 * plane, 2 * w * b, b, 4 * w * b, 2 * b, 1])
        } else {
            let dims = [n, 2, 2, h, w, c]
            expandedView = try MemoryDescriptor(dims: dims, dataType: type, strides: [4 * c * h * w, 2 * c, c, w * 4 * c, 4 * c, 1])
            spaceView = try MemoryDescriptor(dims: dims, dataType: outputType, strides: [4 * c * h * w, 2 * w * c, c, 4 * w * c, 2 * c, 1])
        }
        toSpace = try Reorder(from: expandedView, to: spaceView)
        toDepth = training ? try Reorder(from: spaceView, to: expandedView) : nil
        // In the workspace above what the convolution keeps there: the weight is staged from it before the
        // convolution runs, and its gradient is read out of it after.
        pointwise = try context.memory(MemoryDescriptor(dims: [4 * outputChannels, inputShape[1], 1, 1], format: .abcd),
                                       slot: .workspace, offset: convolution.stagedWorkspaceBytes)
    }

    /// The 1x1 weight `W1[(2p + q)·C_out + o, c]` (row-major) rearranged from PyTorch's `W[c, o, p, q]`, and
    /// the weight gradient's way back.
    private let pointwise: Memory
    private var pointwiseElements: UnsafeMutablePointer<Float> { pointwise.dataPointer.assumingMemoryBound(to: Float.self) }

    /// Calls `body(t, w)` for every weight element of input channels `channels`: `t` its index in PyTorch's
    /// `(C_in, C_out, 2, 2)` weight, `w` its index in the 1x1 weight `W1[(2p + q)·C_out + o, c]` (in increasing
    /// order).
    private func forEachWeightIndex(inputChannels cin: Int, _ channels: Range<Int>, _ body: (_ t: Int, _ w: Int) -> Void) {
        let cout = outputChannels
        for pq in 0..<4 {
            for o in 0..<cout {
                let row = (pq * cout + o) * cin
                for c in channels { body((c * cout + o) * 4 + pq, row + c) }
            }
        }
    }

    /// Fills `pointwise` from PyTorch's `(C_in, C_out, 2, 2)` weight.
    private func arrangePointwise(_ layer: ConvTranspose2d) {
        let w1 = pointwiseElements
        layer.weight.value.withUnsafeBufferPointer { w in
            let cin = layer.weight.value.shape[0]
            forEachWeightIndex(inputChannels: cin, 0..<cin) { t, j in w1[j] = w[t] }
        }
    }

    /// Copies PyTorch's `(C_in, C_out, 2, 2)` weight and `(C_out)` bias in (inference: once; training: before
    /// every forward, and `backward` stages them again for its input gradient).
    func loadParameters(_ layer: ConvTranspose2d) throws {
        let cout = outputChannels
        let bias = layer.bias.map { b in Tensor(shape: [4 * cout]) { b.value[flat: $0 % cout] } }
        arrangePointwise(layer)
        try convolution.loadWeights(plain: pointwise, bias: bias)
    }

    func forward(_ source: Memory, _ destination: Memory) throws {
        try convolution.forward(source, expanded)
        try toSpace(try Memory(expandedView, pointer: expanded.dataPointer, owner: expanded),
                    try Memory(spaceView, pointer: destination.dataPointer, owner: destination))
    }

    /// Input gradient, and the weight and bias gradients handed to `sink`.
    func backward(source: Memory, _ diffDestination: Memory, _ diffSource: Memory, _ layer: ConvTranspose2d,
                  gradients sink: GradientSink) throws {
        guard let diffExpanded, let toDepth else { return }
        try toDepth(try Memory(spaceView, pointer: diffDestination.dataPointer, owner: diffDestination),
                    try Memory(expandedView, pointer: diffExpanded.dataPointer, owner: diffExpanded))
        arrangePointwise(layer)
        try convolution.loadBackwardDataWeights(plain: pointwise)
        try convolution.backwardData(diffExpanded, diffSource)
        try convolution.backwardWeights(source, diffExpanded)
        // The 1x1 gradient G1[(2p + q)·C_out + o, c] into `pointwise`, then back to PyTorch's G[c, o, p, q].
        let (cin, cout, g1) = (layer.weight.value.shape[0], outputChannels, pointwiseElements)
        try convolution.storeWeightGradient(rows: 0..<(4 * cout), into: g1, view: try .whole([4 * cout, cin, 1, 1]))
        // Rows of G are input channels: a piece of rows `channels` starts at element `channels.lowerBound·C_out·4`.
        try sink.deliver(layer.weight) { channels, g in
            let start = channels.lowerBound * cout * 4
            forEachWeightIndex(inputChannels: cin, channels) { t, j in g[t - start] = g1[j] }
        }
        // Each output channel's bias gradient sums its four expanded channels'.
        if let bias = layer.bias, let diffBias = convolution.diffBias {
            let expandedBias = diffBias.dataPointer.assumingMemoryBound(to: Float.self)
            try sink.deliver(bias) { outputs, g in
                for o in outputs { g[o - outputs.lowerBound] = (0..<4).reduce(0) { $0 + expandedBias[$1 * cout + o] } }
            }
        }
    }
}
