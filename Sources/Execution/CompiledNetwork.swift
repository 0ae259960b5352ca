import DNNL
import Distributed
import Foundation
import Graph
import NN
import Tensors

/// A network compiled for one input shape, precision and mode: its graph rewritten by the passes, every oneDNN
/// primitive created, every buffer placed in one arena by the memory plan. Forward and backward only run steps.
///
///     let network = try CompiledNetwork(graph: model.graph(inputShape: [4, 3, 256, 256]),
///                                       parameters: model.namedParameters(), training: true)
///     let logits = try network.forward(x)        // train-mode batch norm: updates the running statistics
///     try network.backward(dLogits)              // sets every parameter's .grad
///     try optimizer.step { try network.backward(dLogits, applying: $0) }  // or: update as gradients come
///
/// It reads the parameters by key: for inference once (`loadParameters()` after changing them), for training at
/// every use, so the model stays the authority: optimizers update `Parameter.value`, checkpoints save the model.
/// With every pass off (`passes: []`) it is the reference the passes are tested against.
public final class CompiledNetwork {
    /// The graph after the passes.
    public let graph: Graph
    public let precision: Precision
    public let training: Bool
    public let passes: Set<Pass>
    /// Whether training makes convolution outputs again in backward instead of keeping them (see `init`).
    public let recomputesConvolutions: Bool
    /// Where every buffer lives.
    public let memoryPlan: MemoryPlan
    private let lowering: Lowering
    private let kernels: [NodeKernel]
    private let schedule: Schedule
    private var weightsReleased = false
    /// Shared PReLU slopes compiled in as leaky ReLUs (`Pass.bakePReLU`), with the value each had.
    private var bakedSlopes: [(parameter: Parameter, slope: Float)] = []

    /// - Parameters:
    ///   - graph: the network, its parameters named by key.
    ///   - parameters: the model's tensors by `state_dict` key (`Module.namedParameters()`).
    ///   - passes: the passes to apply (all by default; none gives the reference).
    ///   - recomputesConvolutions: for training, whether backward makes convolution outputs again where the rest of
    ///     what they need is at hand, instead of keeping them: more time for less peak memory (the trade is measured in
    ///     the README). nil (the default): only where keeping would not fit comfortably (`keepingIsCostly`).
    ///   - winogradScratchLimit: the largest Winograd scratchpad, in bytes (default: from the largest activation).
    ///   - inputGradient: training: whether backward also computes the gradient of the input (`inputGradient`).
    ///   - synchronizedBatchNorm: training: batch norm normalises with the statistics of every rank's batch together,
    ///     exchanged over this group in forward and backward (PyTorch's `SyncBatchNorm`); nil: each rank its own.
    ///   - releasingModelWeights: inference: empties each model tensor the network reads (`parameters`) as soon as the
    ///     network holds its copy, so the weights are held once instead of twice, even while loading. The model must
    ///     not be used again, and `loadParameters()` then fails.
    ///   - quantization: fp32 inference with the layout pass: the convolutions it lists run in int8 (`Quantization`).
    ///     Their weights' scales are fixed when the network is compiled; `loadParameters()` quantizes with them.
    ///   - observingConvolutionInputs: fp32 inference with the layout pass: called with the input of every convolution an int8 network may
    ///     quantize (`Conv2dKernel.isQuantizable`) at every forward pass, to calibrate a `Quantization`.
    ///   - randomSeed: training: the seed of dropout's masks (`DropoutKernel`); an inference network has no dropout.
    /// - Throws: `CompilationError` for a graph the model's tensors do not fit (or bf16 on a CPU without bf16
    ///   kernels, or a quantization table naming a convolution the network lacks), `DNNLError` where oneDNN refuses.
    public init(graph: Graph, parameters: [(String, Parameter)], precision: Precision = .fp32, training: Bool,
                passes: Set<Pass> = Set(Pass.allCases), recomputesConvolutions: Bool? = nil, winogradScratchLimit: Int? = nil,
                inputGradient: Bool = false, synchronizedBatchNorm: ProcessGroup? = nil, releasingModelWeights: Bool = false,
                quantization: Quantization? = nil, observingConvolutionInputs: ConvolutionInputObserver? = nil,
                randomSeed: UInt64 = 0) throws {
        if precision == .bf16, let reason = CPUISA.bf16Unsupported { throw CompilationError("bf16: \(reason)") }
        if quantization != nil || observingConvolutionInputs != nil {
            // The observer reads float32 maps; int8 kernels replace float32 ones.
            guard !training, precision == .fp32 else { throw CompilationError("int8 networks and their calibration are for fp32 inference only") }
            guard passes.contains(.layout) else { throw CompilationError("int8 networks need the layout pass") }
        }
        (self.precision, self.training, self.passes) = (precision, training, passes)
        let int8 = quantization != nil || observingConvolutionInputs != nil
        var g = training ? graph : graph.removingDropout()
        if !training && passes.contains(.bakePReLU) { (g, bakedSlopes) = Self.bakingSharedSlopes(g, parameters) }
        // Before folding and fusing, which reach a rewritten transposed convolution through its depth to space.
        if passes.contains(.transposedAsDepthToSpace) {
            g = g.rewritingTransposedConvolutions(training: training, precision: precision, int8: int8)
        }
        if !training && passes.contains(.foldBatchNorm) { g = g.foldingBatchNorm() }
        if !training && passes.contains(.fuseResidualAdds) { g = g.fusingResidualAdds() }
        if !training && passes.contains(.fuseGatedResiduals) { g = g.fusingGatedResiduals() }
        if passes.contains(.fuseActivations) { g = g.fusingActivations(training: training) }
        if passes.contains(.splitConcat) { g = g.splittingConcatenations() }
        // After the split, which leaves the up-sampled map's part of a decoder's convolution on its own. Calibration
        // observes the convolutions as they were, the names an int8 table keeps; each phase reads its convolution's range.
        var quantization = quantization
        if !training && observingConvolutionInputs == nil && passes.contains(.upsampledAsPhases) {
            g = g.rewritingUpsampledConvolutions(partsAddingIn: quantization != nil)
            quantization = quantization?.readingUpsampledPhases(of: g)
        }
        // Calibration observes the head as the last convolution, which an int8 network keeps in float.
        if !training && observingConvolutionInputs == nil && passes.contains(.narrowAsDepthToSpace) {
            g = g.rewritingNarrowConvolutions()
        }
        let (regions, regionPrecisions) = PrecisionRegions.apply(
            to: g, precision: precision, training: training, enabled: passes.contains(.precisionRegions),
            winogradScratchLimit: winogradScratchLimit)
        var (laidOut, precisions, formats) = LayoutChoice.apply(to: regions, precisions: regionPrecisions,
                                                                enabled: passes.contains(.layout), training: training, int8: int8,
                                                                winograd: passes.contains(.winograd))
        if let quantization, passes.contains(.precisionRegions) {
            precisions = PrecisionRegions.bf16Edges(of: laidOut, precisions: precisions, formats: formats, quantization: quantization)
        }
        if let quantization {
            let quantizable = Set(laidOut.nodes.filter { Conv2dKernel.isQuantizable($0, in: laidOut) }.map(\.name))
            if let stranger = quantization.inputs.keys.sorted().first(where: { !quantizable.contains($0) }) {
                throw CompilationError("the int8 table names convolution \(stranger), which this network lacks or keeps in fp32; quantize the model again")
            }
        }
        self.graph = laidOut
        let lowering = try Lowering(
            graph: laidOut, parameters: Dictionary(parameters, uniquingKeysWith: { a, _ in a }), training: training,
            inputGradient: inputGradient, precision: precision, passes: passes, valuePrecisions: precisions, formats: formats,
            winogradScratchLimit: winogradScratchLimit, batchNormGroup: synchronizedBatchNorm, quantization: quantization,
            inputObserver: observingConvolutionInputs, randomSeed: randomSeed)
        self.lowering = lowering
        var loaderNodes: [Int] = []
        kernels = try laidOut.nodes.enumerated().map { index, node in
            let before = lowering.loaders.count
            let kernel = try lowering.kernel(for: node)
            loaderNodes += Array(repeating: index, count: lowering.loaders.count - before)
            return kernel
        }
        self.loaderNodes = loaderNodes
        let recomputes = training && passes.contains(.recompute)
            && (recomputesConvolutions ?? Self.keepingIsCostly(laidOut, precisions: precisions))
        self.recomputesConvolutions = recomputes
        schedule = try Schedule(graph: laidOut, kernels: kernels, lowering: lowering, recomputesConvolutions: recomputes)
        memoryPlan = try MemoryPlan(steps: schedule.steps, buffers: lowering.buffers)
        try load(releasing: releasingModelWeights && !training ? parameters : nil)
    }

    /// Whether keeping every value a training forward makes, in its precision (`precisions`, by value id), would take
    /// more than an eighth of `physicalMemory` (by default this machine's): where training makes convolution outputs
    /// again in backward by default. Below it keeping is faster (10-15% for a U-Net's step) for a few percent more peak
    /// memory; above it the memory a run needs matters more, and ranks of an MPI job may share the machine.
    public static func keepingIsCostly(_ graph: Graph, precisions: [Precision],
                                       physicalMemory: UInt64 = ProcessInfo.processInfo.physicalMemory) -> Bool {
        let bytes = graph.nodes.reduce(0.0) { total, node in
            total + Double(graph.shape(node.output).reduce(1, *)) * (precisions[node.output.id] == .bf16 ? 2 : 4)
        }
        return bytes > Double(physicalMemory) / 8
    }

    /// The node each of `lowering.loaders` loads the parameters of.
    private let loaderNodes: [Int]

    /// `(N, C_in, H, W)`.
    public var inputShape: [Int] { graph.shape(graph.input) }
    /// `(N, classes, H', W')`.
    public var outputShape: [Int] { graph.shape(graph.output) }
    /// The shapes of `graph.auxiliaryOutputs` (deep supervision's heads), in order.
    public var auxiliaryOutputShapes: [[Int]] { graph.auxiliaryOutputs.map(graph.shape) }

    /// Whether a value compiled into the network (a shared PReLU slope) has changed since: `loadParameters()` would
    /// refuse, and the model must be compiled again.
    public var bakedParametersChanged: Bool { bakedSlopes.contains { $0.parameter.value[flat: 0] != $0.slope } }

    /// `graph` with each PReLU of one shared slope as a leaky ReLU of its current value, and those slopes.
    private static func bakingSharedSlopes(_ graph: Graph, _ parameters: [(String, Parameter)]) -> (Graph, [(Parameter, Float)]) {
        let byKey = Dictionary(parameters, uniquingKeysWith: { a, _ in a })
        var (g, baked) = (graph, [(Parameter, Float)]())
        for i in g.nodes.indices {
            guard case .prelu(let key) = g.nodes[i].op, let slope = byKey[key], slope.value.count == 1 else { continue }
            baked.append((slope, slope.value[flat: 0]))
            g.nodes[i].op = .leakyReLU(slope: slope.value[flat: 0])
        }
        return (g, baked)
    }

    /// Inference: copies the parameters in again (after changing them). Training reads them at every use.
    /// - Throws: `CompilationError` after `compile(releasingModelWeights:)`, or where a compiled-in value changed
    ///   (`bakedParametersChanged`).
    public func loadParameters() throws {
        guard !weightsReleased else {
            throw CompilationError("this compiled network took the model's weights; compile the model again")
        }
        guard !bakedParametersChanged else {
            throw CompilationError("a shared PReLU slope changed since the network was compiled with it; compile the model again")
        }
        try load(releasing: nil)
    }

    /// Runs every loader; with `releasing`, empties each of those tensors right after the last node reading it loaded.
    private func load(releasing parameters: [(String, Parameter)]?) throws {
        var lastReader: [String: Int] = [:]
        for (index, node) in graph.nodes.enumerated() { for key in node.op.parameterKeys { lastReader[key] = index } }
        let byKey = Dictionary(parameters ?? [], uniquingKeysWith: { a, _ in a })
        for (index, load) in lowering.loaders.enumerated() {
            try load()
            guard parameters != nil, index + 1 == lowering.loaders.count || loaderNodes[index + 1] != loaderNodes[index] else { continue }
            for key in graph.nodes[loaderNodes[index]].op.parameterKeys where lastReader[key] == loaderNodes[index] {
                byKey[key]?.value = Tensor(shape: [0])
            }
        }
        if parameters != nil { weightsReleased = true }
    }

    // MARK: - Running

    /// The output for `x`, plain float32 in and out. In training mode batch norm uses batch statistics and updates
    /// the running statistics, as PyTorch's `model.train(); model(x)` does. The graph's further outputs are then in
    /// `auxiliaryOutputs`.
    public func forward(_ x: Tensor) throws -> Tensor {
        guard x.shape == inputShape else {
            throw CompilationError("the compiled network takes \(inputShape), got \(x.shape)")
        }
        memoryPlan.startRun()
        schedule.pendingInput = x
        schedule.pendingAuxiliaryOutputs = []
        defer { (schedule.pendingInput, schedule.pendingOutput) = (nil, nil) }
        try run(0..<schedule.forwardCount)
        return schedule.pendingOutput!
    }

    /// The last forward's values of `graph.auxiliaryOutputs` (deep supervision's heads' logits), plain float32, in
    /// order; empty for a graph without them.
    public var auxiliaryOutputs: [Tensor] { schedule.pendingAuxiliaryOutputs }

    /// Back-propagates the gradient of a loss with respect to the last forward's output (and, for a graph with
    /// `auxiliaryOutputs`, with respect to each of them, in order), *setting* (not accumulating) every trainable
    /// parameter's `.grad`. Training networks only.
    public func backward(_ dOutput: Tensor, auxiliaryGradients: [Tensor] = []) throws {
        try runBackward(dOutput, auxiliaryGradients, sink: GradientSink())
    }

    /// Back-propagates like `backward(_:auxiliaryGradients:)` but hands each parameter's gradient (plain float32, the parameter's
    /// row-major order) to `apply` as soon as it is complete, in pieces of whole rows (the first dimension):
    /// `apply(parameter, range, gradient)` gets elements `range` of it. No `.grad` is stored, so an optimizer step
    /// fused into backward (`Optimizer.step(_:)`) never holds the gradients at once. The buffer is valid only
    /// during the call; each element is handed over once, after the parameter's last use in backward. Without the
    /// fuse-optimizer pass, the gradients are handed over whole after backward.
    public func backward(_ dOutput: Tensor, auxiliaryGradients: [Tensor] = [],
                         applying apply: (Parameter, Range<Int>, UnsafeBufferPointer<Float>) throws -> Void) throws {
        guard passes.contains(.fuseOptimizer) else {
            try runBackward(dOutput, auxiliaryGradients, sink: GradientSink())
            for (parameter, _) in schedule.deliveries {
                try parameter.grad.withUnsafeBufferPointer { try apply(parameter, 0..<parameter.value.count, $0) }
                parameter.zeroGrad()
            }
            return
        }
        let limit = gradientPieceLimit
        let elements = schedule.deliveries.map { parameter, alignment in
            let rows = parameter.value.shape.first ?? 1
            let rowSize = parameter.value.count / max(rows, 1)
            return GradientSink.rowsPerPiece(rows: rows, rowSize: rowSize, alignment: alignment, pieceLimit: limit) * rowSize
        }.max() ?? 1
        if gradientScratch?.descriptor.byteCount != elements * 4 {
            gradientScratch = try Memory(MemoryDescriptor(dims: [max(elements, 1)], format: .a))
        }
        try withoutActuallyEscaping(apply) { apply in
            try runBackward(dOutput, auxiliaryGradients, sink: GradientSink(consumer: apply, scratch: gradientScratch!, pieceLimit: limit))
        }
    }

    /// The gradient of the network's input from the last backward, plain `(N, C_in, H, W)` (networks compiled with
    /// `inputGradient`; nil otherwise).
    public var inputGradient: Tensor? { schedule.pendingInputGradient }

    private func runBackward(_ dOutput: Tensor, _ auxiliaryGradients: [Tensor], sink: GradientSink) throws {
        guard training else { throw CompilationError("this compiled network was built for inference") }
        guard dOutput.shape == outputShape else {
            throw CompilationError("the output gradient must be \(outputShape), got \(dOutput.shape)")
        }
        guard auxiliaryGradients.map(\.shape) == auxiliaryOutputShapes else {
            throw CompilationError("the further outputs' gradients must be \(auxiliaryOutputShapes), got \(auxiliaryGradients.map(\.shape))")
        }
        schedule.sink = sink
        (schedule.pendingOutputGradient, schedule.pendingAuxiliaryGradients) = (dOutput, auxiliaryGradients)
        defer { (schedule.sink, schedule.pendingOutputGradient, schedule.pendingAuxiliaryGradients) = (GradientSink(), nil, []) }
        try run(schedule.forwardCount..<schedule.steps.count)
    }

    /// The most floats `backward(_:applying:)` hands over at once, where a parameter's rows allow it (a piece is
    /// whole rows, aligned to the weight-gradient layout's blocks). 1 Mi floats by default.
    public var gradientPieceLimit = 1 << 20

    /// The buffer `backward(_:applying:)` hands gradients over in, made on first use.
    private var gradientScratch: Memory?

    private func run(_ range: Range<Int>) throws {
        for step in schedule.steps[range] {
            #if DEBUG
            try memoryPlan.check(step: step)
            #endif
            try step.run()
        }
    }

    // MARK: - Reports

    /// The names of the steps, forward then backward, in the order they run.
    public var stepNames: [String] { schedule.steps.map(\.name) }

    /// The precision `value` of `graph` is computed and kept in (see `PrecisionRegions`).
    public func valuePrecision(_ value: Graph.Value) -> Precision {
        lowering.bf16Maps.contains(value.id) ? .bf16 : lowering.valuePrecisions[value.id]
    }

    /// The precision each resolution level's convolutions run in, from the top (see `PrecisionRegions`).
    public var levelPrecisions: [Precision] {
        let levels = graph.levels
        let top = levels.max() ?? 0
        return (0...top).map { level in
            let conv = graph.nodes.first { levels[$0.output.id] == level && $0.op.isConvolution3x3 }
            return conv.map { lowering.valuePrecisions[$0.output.id] } ?? precision
        }
    }

    /// oneDNN's implementation of each convolution's forward pass, by node name (`jit:avx2`, `jit_uni_int8:avx2`,
    /// `brgconv:avx512_core_vnni`, ...).
    public var convolutionImplementations: [String: String] {
        Dictionary(zip(graph.nodes, kernels).compactMap { node, kernel in (kernel as? Conv2dKernel).map { (node.name, $0.implementation) } },
                   uniquingKeysWith: { a, _ in a })
    }

    /// The implementation of each convolution that runs oneDNN's int8 kernel (8-bit inputs), by node name.
    public var int8Convolutions: [String: String] {
        Dictionary(zip(graph.nodes, kernels).compactMap { node, kernel in
            (kernel as? Conv2dKernel).flatMap { $0.readsInt8 ? (node.name, $0.implementation) : nil }
        }, uniquingKeysWith: { a, _ in a })
    }

    /// The seconds a forward pass would take if it were nothing but its convolutions: each convolution timed alone,
    /// medians summed. The ceiling that the whole forward pass is measured against.
    public func convolutionSeconds(repetitions: Int = 5) throws -> Double {
        try kernels.compactMap { $0 as? Conv2dKernel }.reduce(0) { $0 + (try $1.timeForward(repetitions: repetitions)) }
    }
}
