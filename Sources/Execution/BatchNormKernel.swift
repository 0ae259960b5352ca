import DNNL
import Graph
import NN
import Tensors

/// `batch_norm` (with a fused ReLU, after the activation pass) in a compiled network. Training normalises with
/// the batch's statistics, keeps them for backward and updates the model's running statistics as PyTorch's
/// `model.train(); model(x)` does; inference normalises with the running statistics. Statistics, scale and shift
/// are float32 whatever the activation type.
///
/// Backward runs in place on the output gradient where nothing reads it later, and reads only the input (and,
/// with ReLU fused, oneDNN's workspace of which outputs it zeroed): the output can be made again from the input and
/// the batch statistics (`recompute`, a memory-bound pass), so training need not keep it.
final class BatchNormKernel: NodeKernel {
    private let a: BatchNormAttributes
    private let name: String
    private let lowering: Lowering
    private let shape: [Int]
    private let data: MemoryDescriptor
    private let forwardPrimitive: Primitive
    private let recomputePrimitive: Primitive?
    private let backwardPrimitive: Primitive?
    private let workspace: MemoryDescriptor?
    private let weight, bias, runningMean, runningVar, numBatchesTracked: Parameter
    /// Inference: scale, shift, mean and variance, loaded once.
    private var loaded: (scale: Buffer, shift: Buffer, mean: Buffer, variance: Buffer)?
    /// Training: the buffers of the last forward's statistics and parameters, which backward and recompute read.
    private var saved: (mean: Buffer, variance: Buffer, scale: Buffer, shift: Buffer, workspace: Buffer?)?

    init(_ node: Graph.Node, attributes a: BatchNormAttributes, lowering: Lowering) throws {
        (self.a, name, self.lowering) = (a, node.name, lowering)
        shape = lowering.graph.shape(node.output)
        data = try lowering.descriptor(node.output)
        (weight, bias) = (try lowering.parameter(a.weight), try lowering.parameter(a.bias))
        (runningMean, runningVar) = (try lowering.parameter(a.runningMean), try lowering.parameter(a.runningVar))
        numBatchesTracked = try lowering.parameter(a.numBatchesTracked)
        for p in [weight, bias, runningMean, runningVar] where p.value.shape != [shape[1]] {
            throw CompilationError("\(node.name): normalization tensors must be (\(shape[1])), got \(p.value.shape)")
        }
        var flags: BatchNormalizationFlags = [.useScale, .useShift]
        if a.activation == .relu { flags.insert(.fuseReLU) }
        guard lowering.training else {
            forwardPrimitive = try Primitive(.batchNormalizationForward(
                training: false, data: data, epsilon: a.epsilon, flags: flags.union(.useGlobalStatistics),
                attributes: try lowering.attributes()))
            (recomputePrimitive, backwardPrimitive, workspace) = (nil, nil, nil)
            try prepareLoading()
            return
        }
        guard shape[0] * shape[2] * shape[3] > 1 else {
            throw CompilationError("\(node.name): batch norm in training needs more than 1 value per channel, got input \(shape)")
        }
        let forward = try PrimitiveDescriptor.batchNormalizationForward(
            training: true, data: data, epsilon: a.epsilon, flags: flags, attributes: try lowering.attributes())
        forwardPrimitive = try Primitive(forward)
        backwardPrimitive = try Primitive(.batchNormalizationBackward(
            diffData: data, data: data, epsilon: a.epsilon, flags: flags, hint: forward, attributes: try lowering.attributes()))
        recomputePrimitive = try Primitive(.batchNormalizationForward(
            training: false, data: data, epsilon: a.epsilon, flags: flags.union(.useGlobalStatistics),
            attributes: try lowering.attributes()))
        let w = forward.memoryDescriptor(.workspace)
        workspace = w.isEmpty || w.byteCount == 0 ? nil : w
    }

    var cost: RecomputeCost { .cheap }

    var backwardReads: (inputs: [Bool], output: Bool) { ([true], false) }

    private var vector: MemoryDescriptor { get throws { try MemoryDescriptor(dims: [shape[1]], format: .a) } }

    private func prepareLoading() throws {
        let buffers = (try lowering.buffer(name + " scale", .weights, vector, dedicated: true),
                       try lowering.buffer(name + " shift", .weights, vector, dedicated: true),
                       try lowering.buffer(name + " running mean", .weights, vector, dedicated: true),
                       try lowering.buffer(name + " running variance", .weights, vector, dedicated: true))
        loaded = buffers
        lowering.loaders.append { [unowned self] in
            let view = try PlainView.whole([self.shape[1]])
            for (tensor, buffer) in [(self.weight, buffers.0), (self.bias, buffers.1), (self.runningMean, buffers.2), (self.runningVar, buffers.3)] {
                try tensor.value.copy(view, to: buffer.memory)
            }
        }
    }

    // MARK: - Forward

    func forward(_ inputs: [Buffer], _ output: Buffer) throws -> [Step] {
        if let loaded {
            return [.primitive("\(name): forward", forwardPrimitive,
                               reading: [.source: inputs[0], .mean: loaded.mean, .variance: loaded.variance, .scale: loaded.scale,
                                         .shift: loaded.shift],
                               writing: [.destination: output], scratchpad: try lowering.scratchpad(forwardPrimitive, name))]
        }
        let saved = (mean: try lowering.buffer(name + " batch mean", .state, vector),
                     variance: try lowering.buffer(name + " batch variance", .state, vector),
                     scale: try lowering.buffer(name + " scale", .state, vector),
                     shift: try lowering.buffer(name + " shift", .state, vector),
                     workspace: try workspace.map { try lowering.buffer(name + " ReLU workspace", .state, $0) })
        self.saved = saved
        let (weight, bias, view) = (self.weight, self.bias, try PlainView.whole([shape[1]]))
        var writes: [Argument: Buffer] = [.destination: output, .mean: saved.mean, .variance: saved.variance]
        if let workspace = saved.workspace { writes[.workspace] = workspace }
        return [
            Step("\(name): load scale and shift", reads: [], writes: [saved.scale, saved.shift]) {
                try weight.value.copy(view, to: saved.scale.memory)
                try bias.value.copy(view, to: saved.shift.memory)
            },
            .primitive("\(name): forward", forwardPrimitive,
                       reading: [.source: inputs[0], .scale: saved.scale, .shift: saved.shift], writing: writes,
                       scratchpad: try lowering.scratchpad(forwardPrimitive, name)),
            Step("\(name): update running statistics", reads: [saved.mean, saved.variance], writes: []) { [unowned self] in
                self.updateRunningStatistics(mean: saved.mean, variance: saved.variance)
            },
        ]
    }

    /// PyTorch's running-statistics update from the batch statistics (momentum, unbiased variance).
    private func updateRunningStatistics(mean: Buffer, variance: Buffer) {
        let count = shape[0] * shape[2] * shape[3]
        let batchMean = mean.memory.dataPointer.assumingMemoryBound(to: Float.self)
        let batchVariance = variance.memory.dataPointer.assumingMemoryBound(to: Float.self)
        let (m, unbiased) = (a.momentum, Float(count) / Float(count - 1))
        runningMean.value.withUnsafeMutableBufferPointer { running in
            for i in running.indices { running[i] = (1 - m) * running[i] + m * batchMean[i] }
        }
        runningVar.value.withUnsafeMutableBufferPointer { running in
            for i in running.indices { running[i] = (1 - m) * running[i] + m * unbiased * batchVariance[i] }
        }
        numBatchesTracked.value = numBatchesTracked.value.map { $0 + 1 }
    }

    /// The last forward's output again, from its input and the batch statistics it computed.
    func recompute(_ inputs: [Buffer], _ output: Buffer) throws -> [Step]? {
        guard let recomputePrimitive, let saved else { return nil }
        return [.primitive("\(name): forward again", recomputePrimitive,
                           reading: [.source: inputs[0], .mean: saved.mean, .variance: saved.variance, .scale: saved.scale,
                                     .shift: saved.shift],
                           writing: [.destination: output], scratchpad: try lowering.scratchpad(recomputePrimitive, name))]
    }

    // MARK: - Backward

    func backward(
        inputs: [Buffer?], output: Buffer?, outputGradient: Buffer, wanted: [Bool], gradient: (Int) throws -> Buffer,
        sources: inout [GradientSource]
    ) throws -> (steps: [Step], inputGradients: [Buffer?]) {
        guard let backwardPrimitive, let saved, let x = inputs[0] else { return ([], [nil]) }
        let dx = try lowering.buffer(name + " input gradient", .gradient, outputGradient.descriptor)
        let diffScale = try lowering.buffer(name + " scale gradient", .weights, vector)
        let diffShift = try lowering.buffer(name + " shift gradient", .weights, vector)
        var reads: [Argument: Buffer] = [.source: x, .diffDestination: outputGradient, .mean: saved.mean, .variance: saved.variance,
                                         .scale: saved.scale, .shift: saved.shift]
        if let workspace = saved.workspace { reads[.workspace] = workspace }
        sources += [.vector(weight, diffScale), .vector(bias, diffShift)]
        return ([.primitive("\(name): backward", backwardPrimitive, reading: reads,
                            writing: [.diffSource: dx, .diffScale: diffScale, .diffShift: diffShift],
                            scratchpad: try lowering.scratchpad(backwardPrimitive, name), inPlace: [(dx, outputGradient)])],
                [wanted[0] ? dx : nil])
    }
}
