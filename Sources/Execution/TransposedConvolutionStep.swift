import DNNL
import NN
import Tensors

/// `ConvTranspose2d(C_in, C_out, kernel 2, stride 2)` for the compiled network. oneDNN 2.6's deconvolution
/// runs this shape at a fraction of its convolution speed, so when `C_out` is a multiple of 16 it runs as
/// what it is: a 1x1 convolution to `4·C_out` channels (channel `(2p + q)·C_out + o` holds output pixel
/// `(2i + p, 2j + q)` of channel `o`) followed by a depth-to-space reorder between two 7-D views of the
/// blocked layouts. Otherwise it uses oneDNN's deconvolution primitive.
final class TransposedConvolutionStep {
    let inputShape: [Int]
    let outputShape: [Int]
    private let implementation: Implementation

    private enum Implementation {
        case pointwise(PointwiseUpsampling)
        case deconvolution(DeconvolutionUpsampling)
    }

    init(inputShape: [Int], outputChannels: Int, context: PlanContext) throws {
        self.inputShape = inputShape
        outputShape = [inputShape[0], outputChannels, 2 * inputShape[2], 2 * inputShape[3]]
        implementation = outputChannels % 16 == 0
            ? .pointwise(try PointwiseUpsampling(inputShape: inputShape, outputChannels: outputChannels, context: context))
            : .deconvolution(try DeconvolutionUpsampling(inputShape: inputShape, outputChannels: outputChannels,
                                                         context: context))
    }

    /// The 1x1-convolution implementation, when used.
    var pointwise: PointwiseUpsampling? {
        if case .pointwise(let p) = implementation { p } else { nil }
    }

    /// Copies PyTorch's `(C_in, C_out, 2, 2)` weight and `(C_out)` bias in (inference: once; training: before
    /// every forward, and `backward` stages them again for its input gradient).
    func loadParameters(_ layer: ConvTranspose2d) throws {
        switch implementation {
        case .pointwise(let p): try p.loadParameters(layer)
        case .deconvolution(let d): try d.loadParameters(layer)
        }
    }

    func forward(_ source: Memory, _ destination: Memory) throws {
        switch implementation {
        case .pointwise(let p): try p.forward(source, destination)
        case .deconvolution(let d): try d.forward(source, destination)
        }
    }

    /// Input gradient, and the weight and bias gradients stored into `layer`'s `.grad`.
    func backward(source: Memory, _ diffDestination: Memory, _ diffSource: Memory, _ layer: ConvTranspose2d) throws {
        switch implementation {
        case .pointwise(let p): try p.backward(source: source, diffDestination, diffSource, layer)
        case .deconvolution(let d): try d.backward(source: source, diffDestination, diffSource, layer)
        }
    }
}

/// The 1x1-convolution formulation (see `TransposedConvolutionStep`).
final class PointwiseUpsampling {
    let convolution: ConvolutionStep
    let outputChannels: Int
    /// `(N, 4·C_out, H, W)`, the 1x1 convolution's output (and, in training, its gradient).
    let expanded: Memory
    let diffExpanded: Memory?
    let toSpace: Reorder
    let toDepth: Reorder?
    let expandedView: MemoryDescriptor
    let spaceView: MemoryDescriptor

    init(inputShape: [Int], outputChannels: Int, context: PlanContext) throws {
        self.outputChannels = outputChannels
        let (type, training) = (context.activationType, context.training)
        convolution = try ConvolutionStep(.init(
            inputShape: inputShape, outputChannels: 4 * outputChannels, kernelSize: 1, padding: 0, inputGradient: true,
            bias: true), context: context)
        // Transient in both modes: backward needs only the gradient of it, which the reorder regenerates.
        expanded = try context.memory(convolution.destination, slot: training ? .diffInner1 : .hidden)
        diffExpanded = training ? try context.memory(convolution.destination, slot: .diffExpanded) : nil
        // 7-D views (n, o/16, p, q, i, j, o%16) of the expanded map and of the (N, C_out, 2H, 2W) output,
        // both nChw16c: the reorder between them is the depth-to-space permutation.
        let (n, h, w, blocks) = (inputShape[0], inputShape[2], inputShape[3], outputChannels / 16)
        let dims = [n, blocks, 2, 2, h, w, 16]
        let plane = h * w * 16
        expandedView = try MemoryDescriptor(
            dims: dims, dataType: type, strides: [4 * outputChannels * h * w, plane, 2 * blocks * plane, blocks * plane, w * 16, 16, 1])
        spaceView = try MemoryDescriptor(
            dims: dims, dataType: type, strides: [4 * outputChannels * h * w, 4 * plane, 2 * w * 16, 16, 4 * w * 16, 32, 1])
        toSpace = try Reorder(from: expandedView, to: spaceView)
        toDepth = training ? try Reorder(from: spaceView, to: expandedView) : nil
    }

    /// PyTorch's `W[c, o, p, q]` rearranged as the 1x1 weight `W1[(2p + q)·C_out + o, c]`.
    private func pointwiseWeight(_ layer: ConvTranspose2d) throws -> Tensor {
        let (cin, cout) = (layer.weight.value.shape[0], outputChannels)
        var pointwise = Tensor.empty(shape: [4 * cout, cin, 1, 1])
        let view = PlainView(descriptor: try MemoryDescriptor(dims: [2, 2, cout, cin], strides: [2, 1, 4, 4 * cout]), offset: 0)
        try pointwise.withUnsafeMutableBufferPointer { buffer in
            try Memory.borrowing(try MemoryDescriptor(dims: [2, 2, cout, cin], format: .abcd), UnsafeMutableRawPointer(buffer.baseAddress!)) {
                memory in try layer.weight.value.copy(view, to: memory)
            }
        }
        return pointwise
    }

    func loadParameters(_ layer: ConvTranspose2d) throws {
        let cout = outputChannels
        let bias = layer.bias.map { b in Tensor(shape: [4 * cout]) { b.value[flat: $0 % cout] } }
        let weight = try pointwiseWeight(layer)
        try convolution.loadWeights(weight, view: try .whole(weight.shape), bias: bias)
    }

    func forward(_ source: Memory, _ destination: Memory) throws {
        try convolution.forward(source, expanded)
        try toSpace(try Memory(expandedView, pointer: expanded.dataPointer, owner: expanded),
                    try Memory(spaceView, pointer: destination.dataPointer, owner: destination))
    }

    func backward(source: Memory, _ diffDestination: Memory, _ diffSource: Memory, _ layer: ConvTranspose2d) throws {
        guard let diffExpanded, let toDepth else { return }
        try toDepth(try Memory(spaceView, pointer: diffDestination.dataPointer, owner: diffDestination),
                    try Memory(expandedView, pointer: diffExpanded.dataPointer, owner: diffExpanded))
        let weight = try pointwiseWeight(layer)
        try convolution.loadBackwardDataWeights(weight, view: try .whole(weight.shape))
        try convolution.backwardData(diffExpanded, diffSource)
        try convolution.backwardWeights(source, diffExpanded)
        let (cin, cout) = (layer.weight.value.shape[0], outputChannels)
        var pointwise = Tensor.empty(shape: [4 * cout, cin, 1, 1])
        var biasGradient: Tensor? = Tensor.empty(shape: [4 * cout])
        try convolution.storeGradients(weight: &pointwise, view: try .whole(pointwise.shape), bias: &biasGradient)
        let view = PlainView(descriptor: try MemoryDescriptor(dims: [2, 2, cout, cin], strides: [2, 1, 4, 4 * cout]), offset: 0)
        try pointwise.withUnsafeBufferPointer { buffer in
            try Memory.borrowing(try MemoryDescriptor(dims: [2, 2, cout, cin], format: .abcd),
                                 UnsafeMutableRawPointer(mutating: buffer.baseAddress!)) { memory in
                try layer.weight.grad.assign(view, from: memory)
            }
        }
        if let bias = layer.bias, let biasGradient {
            bias.grad = Tensor(shape: [cout]) { o in (0..<4).reduce(0) { $0 + biasGradient[flat: $1 * cout + o] } }
        }
    }
}

/// oneDNN's deconvolution primitive, for output channel counts that are not a multiple of 16.
final class DeconvolutionUpsampling {
    let forwardPrimitive: Primitive
    let backwardDataPrimitive: Primitive?
    let backwardWeightsPrimitive: Primitive?
    let weights: Memory
    let backwardWeights: Memory?
    let bias: Memory
    let diffWeights: Memory?
    let diffBias: Memory?
    let weightShape: [Int]

    init(inputShape: [Int], outputChannels: Int, context: PlanContext) throws {
        let (type, training) = (context.activationType, context.training)
        let outputShape = [inputShape[0], outputChannels, 2 * inputShape[2], 2 * inputShape[3]]
        weightShape = [outputChannels, inputShape[1], 2, 2]  // oneDNN's logical (out, in, k, k)
        let source = try MemoryDescriptor(dims: inputShape, dataType: type, format: .aBcd16b)
        let destination = try MemoryDescriptor(dims: outputShape, dataType: type, format: .aBcd16b)
        let weightsAny = try MemoryDescriptor(dims: weightShape, dataType: type, format: .any)
        let biasDescriptor = try MemoryDescriptor(dims: [outputChannels], format: .a)
        let geometry = SpatialGeometry(stride: 2, padding: 0)
        let forward = try PrimitiveDescriptor.convolutionForward(
            .transposed, training: training, source: source, weights: weightsAny, bias: biasDescriptor,
            destination: destination, geometry: geometry, attributes: try context.attributes())
        forwardPrimitive = try context.primitive(forward)
        weights = try Memory(forward.memoryDescriptor(.weights))
        bias = try Memory(biasDescriptor)
        guard training else {
            (backwardDataPrimitive, backwardWeightsPrimitive, backwardWeights, diffWeights, diffBias) = (nil, nil, nil, nil, nil)
            return
        }
        let data = try PrimitiveDescriptor.convolutionBackwardData(
            .transposed, diffSource: source, weights: weightsAny, diffDestination: destination, geometry: geometry,
            hint: forward, attributes: try context.attributes())
        backwardDataPrimitive = try context.primitive(data)
        backwardWeights = data.memoryDescriptor(.weights) == weights.descriptor ? nil : try Memory(data.memoryDescriptor(.weights))
        let gradient = try PrimitiveDescriptor.convolutionBackwardWeights(
            .transposed, source: source, diffWeights: weightsAny.with(dataType: .f32), diffBias: biasDescriptor,
            diffDestination: destination, geometry: geometry, hint: forward, attributes: try context.attributes())
        backwardWeightsPrimitive = try context.primitive(gradient)
        diffWeights = try Memory(gradient.memoryDescriptor(.diffWeights))
        diffBias = try Memory(biasDescriptor)
    }

    /// PyTorch's `(C_in, C_out, 2, 2)` weight is oneDNN's logical `(C_out, C_in, 2, 2)` stored as `bacd`.
    private func pytorchView() throws -> PlainView {
        PlainView(descriptor: try MemoryDescriptor(dims: weightShape, format: .bacd), offset: 0)
    }

    func loadParameters(_ layer: ConvTranspose2d) throws {
        try layer.weight.value.copy(try pytorchView(), to: weights)
        if let backwardWeights { try layer.weight.value.copy(try pytorchView(), to: backwardWeights) }
        if let b = layer.bias { try b.value.copy(try .whole([weightShape[0]]), to: bias) }
    }

    func forward(_ source: Memory, _ destination: Memory) throws {
        try forwardPrimitive.execute([.source: source, .weights: weights, .bias: bias, .destination: destination])
    }

    func backward(source: Memory, _ diffDestination: Memory, _ diffSource: Memory, _ layer: ConvTranspose2d) throws {
        guard let backwardDataPrimitive, let backwardWeightsPrimitive, let diffWeights, let diffBias else { return }
        try backwardDataPrimitive.execute([
            .diffDestination: diffDestination, .weights: backwardWeights ?? weights, .diffSource: diffSource,
        ])
        try backwardWeightsPrimitive.execute([
            .source: source, .diffDestination: diffDestination, .diffWeights: diffWeights, .diffBias: diffBias,
        ])
        try layer.weight.grad.assign(try pytorchView(), from: diffWeights)
        if let b = layer.bias { try b.grad.assign(try .whole([weightShape[0]]), from: diffBias) }
    }
}
