import DNNL
import Distributed
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
///
/// Synchronized (`Lowering.batchNormGroup`, PyTorch's `SyncBatchNorm`): forward computes this rank's statistics,
/// sums them over the ranks into the global batch's mean and variance, and normalises with those; backward runs with
/// the global statistics as constants (`γ/σ·dy`), sums `Σdy` and `Σdy·x̂` over the ranks, and adds the terms the
/// statistics' dependence on the input contributes: `-γ/σ·(Σdy + x̂·Σdy·x̂)/M` over the global count `M`. The scale
/// and shift gradients stay this rank's sums (the gradient exchange averages them, as DDP does).
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
    /// Synchronized: the ranks, this rank's statistics pass, the correction pass (a batch norm with chosen scale
    /// and shift computes `B·x̂ + C` per channel) and the addition of the correction to the input gradient.
    private let group: ProcessGroup?
    private let localStatisticsPrimitive, correctionPrimitive, addPrimitive: Primitive?
    /// Synchronized: the global batch's element count per channel, from the last forward.
    private var globalCount = 0.0
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
        group = lowering.batchNormGroup
        guard lowering.training else {
            forwardPrimitive = try Primitive(.batchNormalizationForward(
                training: false, data: data, epsilon: a.epsilon, flags: flags.union(.useGlobalStatistics),
                attributes: try lowering.attributes()))
            (recomputePrimitive, backwardPrimitive, workspace) = (nil, nil, nil)
            (localStatisticsPrimitive, correctionPrimitive, addPrimitive) = (nil, nil, nil)
            try prepareLoading()
            return
        }
        guard shape[0] * shape[2] * shape[3] > 1 || group != nil else {
            throw CompilationError("\(node.name): batch norm in training needs more than 1 value per channel, got input \(shape)")
        }
        // Synchronized, forward normalises with given (global) statistics and backward takes them as constants.
        let trainingFlags = group == nil ? flags : flags.union(.useGlobalStatistics)
        let forward = try PrimitiveDescriptor.batchNormalizationForward(
            training: true, data: data, epsilon: a.epsilon, flags: trainingFlags, attributes: try lowering.attributes())
        forwardPrimitive = try Primitive(forward)
        backwardPrimitive = try Primitive(.batchNormalizationBackward(
            diffData: data, data: data, epsilon: a.epsilon, flags: trainingFlags, hint: forward, attributes: try lowering.attributes()))
        if group != nil {
            localStatisticsPrimitive = try Primitive(.batchNormalizationForward(
                training: true, data: data, epsilon: a.epsilon, flags: [.useScale, .useShift], attributes: try lowering.attributes()))
            correctionPrimitive = try Primitive(.batchNormalizationForward(
                training: false, data: data, epsilon: a.epsilon, flags: [.useGlobalStatistics, .useScale, .useShift],
                attributes: try lowering.attributes()))
            addPrimitive = try Primitive(.binaryAdd(source0: data, source1: data, destination: data, attributes: try lowering.attributes()))
        } else {
            (localStatisticsPrimitive, correctionPrimitive, addPrimitive) = (nil, nil, nil)
        }
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
        let load = Step("\(name): load scale and shift", reads: [], writes: [saved.scale, saved.shift]) {
            try weight.value.copy(view, to: saved.scale.memory)
            try bias.value.copy(view, to: saved.shift.memory)
        }
        let update = Step("\(name): update running statistics", reads: [saved.mean, saved.variance], writes: []) { [unowned self] in
            self.updateRunningStatistics(mean: saved.mean, variance: saved.variance)
        }
        guard let group, let localStatisticsPrimitive else {
            var writes: [Argument: Buffer] = [.destination: output, .mean: saved.mean, .variance: saved.variance]
            if let workspace = saved.workspace { writes[.workspace] = workspace }
            return [load,
                    .primitive("\(name): forward", forwardPrimitive,
                               reading: [.source: inputs[0], .scale: saved.scale, .shift: saved.shift], writing: writes,
                               scratchpad: try lowering.scratchpad(forwardPrimitive, name)),
                    update]
        }
        var writes: [Argument: Buffer] = [.destination: output]
        if let workspace = saved.workspace { writes[.workspace] = workspace }
        let count = Double(shape[0] * shape[2] * shape[3])
        return [
            load,
            // This rank's statistics (the output it writes is overwritten below).
            .primitive("\(name): local statistics", localStatisticsPrimitive,
                       reading: [.source: inputs[0], .scale: saved.scale, .shift: saved.shift],
                       writing: [.destination: output, .mean: saved.mean, .variance: saved.variance],
                       scratchpad: try lowering.scratchpad(localStatisticsPrimitive, name)),
            Step("\(name): global statistics", reads: [saved.mean, saved.variance], writes: [saved.mean, saved.variance]) { [unowned self] in
                self.globalCount = try Self.globalStatistics(mean: saved.mean, variance: saved.variance, count: count, over: group)
            },
            .primitive("\(name): forward", forwardPrimitive,
                       reading: [.source: inputs[0], .mean: saved.mean, .variance: saved.variance, .scale: saved.scale, .shift: saved.shift],
                       writing: writes, scratchpad: try lowering.scratchpad(forwardPrimitive, name)),
            update,
        ]
    }

    /// Replaces this rank's mean and (biased) variance of `count` values per channel with those of every rank's
    /// values together; returns the global count. The variance is combined from each rank's variance and the spread
    /// of the ranks' means (two exchanges), not from sums of squares, which lose the digits that matter when the
    /// mean is large against the spread.
    private static func globalStatistics(mean: Buffer, variance: Buffer, count: Double, over group: ProcessGroup) throws -> Double {
        let means = mean.memory.dataPointer.assumingMemoryBound(to: Float.self)
        let variances = variance.memory.dataPointer.assumingMemoryBound(to: Float.self)
        let channels = mean.descriptor.byteCount / 4
        var sums = [count] + (0..<channels).map { count * Double(means[$0]) }
        try group.allReduce(&sums, .sum)
        let total = sums[0]
        let globalMeans = (0..<channels).map { sums[1 + $0] / total }
        var squares = (0..<channels).map { c in
            let offset = Double(means[c]) - globalMeans[c]
            return count * (Double(variances[c]) + offset * offset)
        }
        try group.allReduce(&squares, .sum)
        for c in 0..<channels {
            means[c] = Float(globalMeans[c])
            variances[c] = Float(squares[c] / total)
        }
        return total
    }

    /// PyTorch's running-statistics update from the batch statistics (momentum, unbiased variance).
    private func updateRunningStatistics(mean: Buffer, variance: Buffer) {
        let count = group == nil ? shape[0] * shape[2] * shape[3] : Int(globalCount)
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
        let backward = Step.primitive("\(name): backward", backwardPrimitive, reading: reads,
                                      writing: [.diffSource: dx, .diffScale: diffScale, .diffShift: diffShift],
                                      scratchpad: try lowering.scratchpad(backwardPrimitive, name), inPlace: [(dx, outputGradient)])
        guard let group, let correctionPrimitive, let addPrimitive, wanted[0] else { return ([backward], [wanted[0] ? dx : nil]) }
        // dx += B·x̂ + C per channel, B = -γ/σ·Σdy·x̂/M and C = -γ/σ·Σdy/M from the sums over every rank: a batch norm
        // with the forward's statistics, scale B and shift C computes it.
        let slope = try lowering.buffer(name + " correction slope", .state, vector)
        let offset = try lowering.buffer(name + " correction offset", .state, vector)
        let correction = try lowering.buffer(name + " input gradient correction", .gradient, outputGradient.descriptor)
        let corrected = try lowering.buffer(name + " input gradient", .gradient, outputGradient.descriptor)
        let epsilon = Double(a.epsilon)
        let exchange = Step("\(name): exchange gradient sums", reads: [diffScale, diffShift, saved.variance, saved.scale],
                            writes: [slope, offset]) { [unowned self] in
            let channels = self.shape[1]
            func values(_ buffer: Buffer) -> UnsafeMutablePointer<Float> { buffer.memory.dataPointer.assumingMemoryBound(to: Float.self) }
            var sums = (0..<channels).map { Double(values(diffScale)[$0]) } + (0..<channels).map { Double(values(diffShift)[$0]) }
            try group.allReduce(&sums, .sum)
            let total = self.globalCount
            for c in 0..<channels {
                let gain = Double(values(saved.scale)[c]) / (Double(values(saved.variance)[c]) + epsilon).squareRoot()
                values(slope)[c] = Float(-gain * sums[c] / total)
                values(offset)[c] = Float(-gain * sums[channels + c] / total)
            }
        }
        return ([
            backward, exchange,
            .primitive("\(name): input gradient correction", correctionPrimitive,
                       reading: [.source: x, .mean: saved.mean, .variance: saved.variance, .scale: slope, .shift: offset],
                       writing: [.destination: correction],
                       scratchpad: try lowering.scratchpad(correctionPrimitive, name)),
            .primitive("\(name): add the correction", addPrimitive, reading: [.source: dx, .source1: correction],
                       writing: [.destination: corrected], scratchpad: try lowering.scratchpad(addPrimitive, name), inPlace: [(corrected, dx)]),
        ], [corrected])
    }
}
