import DNNL
import Graph
import NN
import Tensors

/// `conv_transpose2d` in a compiled network, as oneDNN's deconvolution (one group). PyTorch's weight
/// `(C_in, C_out, kH, kW)` is the logical `(C_out, C_in, kH, kW)` read with its first two dimensions swapped, so no
/// copy rearranges it; `output_padding` is taken off the bottom and right padding (below zero where it passes the
/// padding, as MONAI's stride-3 up-sampling has it: the rows past the last input's reach get the bias). The
/// transposed-convolution pass rewrites the common kernel = stride case as a 1x1 convolution and a depth-to-space
/// reorder, which runs several times faster; this kernel serves the others and the reference.
final class ConvTranspose2dKernel: NodeKernel {
    private let name: String
    private let lowering: Lowering
    private let training: Bool
    private let weight: Parameter
    private let bias: Parameter?
    private let logicalWeight: [Int]
    /// PyTorch's weight as the logical `(C_out, C_in, kH, kW)`.
    private let plainWeight: MemoryDescriptor
    private let outputChannels: Int
    private let forwardPrimitive: Primitive
    private let backwardDataPrimitive: Primitive?
    private let backwardWeightsPrimitive: Primitive?
    private var loaded: (weights: Buffer, bias: Buffer?)?

    init(_ node: Graph.Node, attributes a: ConvTranspose2dAttributes, lowering: Lowering) throws {
        (name, self.lowering, training, outputChannels) = (node.name, lowering, lowering.training, a.outputChannels)
        guard a.groups == 1 else { throw CompilationError("\(node.name): transposed convolutions with groups are not supported") }
        let trailing = zip(a.padding, a.outputPadding).map { $0 - $1 }
        let input = lowering.graph.shape(node.inputs[0])
        let cin = input[1]
        inputPixels = input[0] * input[2] * input[3]
        (weight, bias) = (try lowering.parameter(a.weight), try a.bias.map { try lowering.parameter($0) })
        guard weight.value.shape == [cin, a.outputChannels] + a.kernel else {
            throw CompilationError("\(node.name): the weight \(a.weight) is \(weight.value.shape), the transposed convolution needs \([cin, a.outputChannels] + a.kernel)")
        }
        logicalWeight = [a.outputChannels, cin] + a.kernel
        let (kh, kw) = (a.kernel[0], a.kernel[1])
        plainWeight = try MemoryDescriptor(dims: logicalWeight, strides: [kh * kw, a.outputChannels * kh * kw, kw, 1])
        let geometry = SpatialGeometry(strides: a.stride, paddingLeft: a.padding, paddingRight: trailing, dilation: a.dilation)
        let type = lowering.dataType(node.output)
        let (source, destination) = (try lowering.descriptor(node.inputs[0]), try lowering.descriptor(node.output))
        let weights = try MemoryDescriptor(dims: logicalWeight, dataType: type, format: .any)
        let biasDescriptor = bias != nil ? try MemoryDescriptor(dims: [a.outputChannels], format: .a) : nil
        let forward = try PrimitiveDescriptor.convolutionForward(
            .transposed, training: training, source: source, weights: weights, bias: biasDescriptor, destination: destination,
            geometry: geometry, attributes: try lowering.attributes())
        forwardPrimitive = try Primitive(forward)
        guard training else {
            (backwardDataPrimitive, backwardWeightsPrimitive) = (nil, nil)
            let loaded = (weights: try lowering.buffer(name + " weights", .weights, forward.memoryDescriptor(.weights), dedicated: true),
                          bias: try biasDescriptor.map { try lowering.buffer(name + " bias", .weights, $0, dedicated: true) })
            self.loaded = loaded
            lowering.loaders.append { [unowned self] in try self.stage(loaded.weights, loaded.bias) }
            return
        }
        backwardDataPrimitive = try Primitive(.convolutionBackwardData(
            .transposed, diffSource: source, weights: weights, diffDestination: destination, geometry: geometry, hint: forward,
            attributes: try lowering.attributes()))
        backwardWeightsPrimitive = try Primitive(.convolutionBackwardWeights(
            .transposed, source: source, diffWeights: try MemoryDescriptor(dims: logicalWeight, format: .any), diffBias: biasDescriptor,
            diffDestination: destination, geometry: geometry, hint: forward, attributes: try lowering.attributes()))
    }

    /// Multiply-adds: every input pixel times the whole weight.
    var cost: RecomputeCost { .convolution(flops: 2 * Double(logicalWeight.reduce(1, *)) * Double(inputPixels)) }

    private let inputPixels: Int

    var backwardReads: (inputs: [Bool], output: Bool) { ([true], false) }

    private func stage(_ weights: Buffer, _ biasBuffer: Buffer?) throws {
        try weight.value.withUnsafeBufferPointer { buffer in
            try Memory.borrowing(plainWeight, UnsafeMutableRawPointer(mutating: buffer.baseAddress!)) { try copy($0, to: weights.memory) }
        }
        if let biasBuffer, let bias { try bias.value.copy(try .whole([outputChannels]), to: biasBuffer.memory) }
    }

    private func stagedBuffers(_ descriptor: MemoryDescriptor, bias withBias: Bool) throws -> (Buffer, Buffer?, Step) {
        let staged = try lowering.buffer(name + " staged weights", .weights, descriptor)
        let stagedBias = withBias && bias != nil
            ? try lowering.buffer(name + " staged bias", .weights, MemoryDescriptor(dims: [outputChannels], format: .a)) : nil
        let step = Step("\(name): stage weights", reads: [], writes: [staged] + (stagedBias.map { [$0] } ?? [])) { [unowned self] in
            try self.stage(staged, stagedBias)
        }
        return (staged, stagedBias, step)
    }

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        var steps: [Step] = []
        var reads: [Argument: Buffer] = [.source: inputs[0]]
        if let loaded {
            reads[.weights] = loaded.weights
            if let b = loaded.bias { reads[.bias] = b }
        } else {
            let (staged, stagedBias, stage) = try stagedBuffers(forwardPrimitive.descriptor.memoryDescriptor(.weights), bias: true)
            steps.append(stage)
            reads[.weights] = staged
            if let stagedBias { reads[.bias] = stagedBias }
        }
        steps.append(.primitive("\(name): forward", forwardPrimitive, reading: reads, writing: [.destination: output],
                                scratchpad: try lowering.scratchpad(forwardPrimitive, name)))
        return steps
    }

    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? { try forward(inputs, output) }

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard let backwardDataPrimitive, let backwardWeightsPrimitive, let x = inputs[0] else { return ([], [nil]) }
        var steps: [Step] = []
        var dx: Buffer?
        if wanted[0] {
            let (staged, _, stage) = try stagedBuffers(backwardDataPrimitive.descriptor.memoryDescriptor(.weights), bias: false)
            let gradientBuffer = try gradient(0)
            steps += [stage, .primitive("\(name): backward data", backwardDataPrimitive,
                                        reading: [.diffDestination: outputGradient, .weights: staged],
                                        writing: [.diffSource: gradientBuffer], scratchpad: try lowering.scratchpad(backwardDataPrimitive, name))]
            dx = gradientBuffer
        }
        let pd = backwardWeightsPrimitive.descriptor
        let diffWeights = try lowering.buffer(name + " weight gradient", .weights, pd.memoryDescriptor(.diffWeights))
        let diffBias = bias != nil ? try lowering.buffer(name + " bias gradient", .weights, MemoryDescriptor(dims: [outputChannels], format: .a)) : nil
        var writes: [Argument: Buffer] = [.diffWeights: diffWeights]
        if let diffBias { writes[.diffBias] = diffBias }
        steps.append(.primitive("\(name): backward weights", backwardWeightsPrimitive,
                                reading: [.source: x, .diffDestination: outputGradient], writing: writes,
                                scratchpad: try lowering.scratchpad(backwardWeightsPrimitive, name)))
        let plain = plainWeight
        sources.append(GradientSource(parameter: weight, reads: [diffWeights], alignment: weight.value.shape[0]) { _, base in
            try Memory.borrowing(plain, UnsafeMutableRawPointer(base)) { try copy(diffWeights.memory, to: $0) }
        })
        if let bias, let diffBias { sources.append(.vector(bias, diffBias)) }
        return (steps, [dx])
    }
}
