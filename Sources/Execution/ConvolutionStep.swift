import DNNL
import Tensors

/// One convolution of a compiled network (3x3 or 1x1, stride 1, groups 1) with the backward primitives
/// training needs. Primitives are made once; each step only executes them.
///
/// Weights: for inference they are loaded once into a memory of their own (`loadWeights`); for training they
/// live in the workspace shared by all convolutions and are staged from the model's plain tensor just
/// before each use (`loadWeights` before `forward`, `loadBackwardDataWeights` before `backwardData`), and the
/// weight gradient is handed over (`storeWeightGradient`, to `.grad` or a fused optimizer step, a few output
/// channels at a time) right after `backwardWeights`. So a training network
/// holds no persistent copy of the weights, and the model's parameters are always the current ones.
///
/// fp32 convolutions with at least 32 input and output channels run oneDNN's Winograd F(4x4, 3x3) kernels
/// (`jit_wino_4x3`), 2.5–7x faster than direct convolution on AVX-512 and accurate to ~1e-6 relative; the
/// rest run direct kernels. bf16 convolutions always run oneDNN's bf16 direct kernels. In an fp32 level of a
/// bf16 training plan, a weight gradient that Winograd cannot compute within the scratchpad limit runs in bf16,
/// from bf16 copies of its inputs.
final class ConvolutionStep {
    struct Options {
        /// `(N, C_in, H, W)`.
        var inputShape: [Int]
        var outputChannels: Int
        var kernelSize: Int
        var padding: Int
        /// Whether backward must produce the input gradient (false for the first layer).
        var inputGradient: Bool
        var bias: Bool
        /// Add into the existing destination (`sum` post-op) instead of overwriting it.
        var accumulate = false
        /// Apply ReLU to the result (post-op).
        var relu = false
        /// The source layout: nil for the plan's activation layout; `.any` lets oneDNN choose (query `source`).
        var sourceFormat: FormatTag?
        /// Bytes into the workspace where this convolution's weight gradient starts (a multiple of 64):
        /// convolutions whose gradients must be live together take disjoint ranges.
        var diffWeightsOffset = 0
    }

    let options: Options
    /// `(N, C_out, H', W')`.
    let outputShape: [Int]
    /// Logical weight shape `(C_out, C_in, k, k)`.
    let weightShape: [Int]
    let source: MemoryDescriptor
    let destination: MemoryDescriptor
    let forwardPrimitive: Primitive
    let backwardDataPrimitive: Primitive?
    let backwardWeightsPrimitive: Primitive?
    let weights: Memory
    /// The backward-data primitive's weights, when its layout differs from the forward one.
    let backwardDataWeights: Memory?
    let bias: Memory?
    let diffWeights: Memory?
    let diffBias: Memory?
    /// Where the weight gradient runs in bf16 in an fp32 level of a bf16 plan (fp32 Winograd's would not fit
    /// the scratchpad limit, and fp32 direct is 2.4x slower than bf16): bf16 copies of the source and output
    /// gradient in the workspace, and the reorders that fill them.
    private let bf16GradientInputs: (source: Memory, diffDestination: Memory, toSource: Reorder, toDiff: Reorder)?

    /// oneDNN's name for the forward implementation (e.g. `jit_wino_4x3:avx512_core`).
    var implementation: String { forwardPrimitive.descriptor.implementationName }

    init(_ options: Options, context: PlanContext) throws {
        self.options = options
        outputShape = Self.outputShape(options)
        weightShape = Self.weightShape(options)
        let training = context.training
        let biasDescriptor = options.bias ? try MemoryDescriptor(dims: [options.outputChannels], format: .a) : nil
        let winograd = Self.mayRunWinograd(options, context: context)
        func forwardDescriptor(_ algorithm: ConvolutionAlgorithm) throws -> PrimitiveDescriptor {
            try Self.forwardDescriptor(options, context: context, algorithm: algorithm)
        }
        let direct = try forwardDescriptor(.direct)
        let forward = winograd ? context.preferWinograd(try? forwardDescriptor(.winograd), over: direct) : direct
        // Training stages the weights at the start of the workspace, so each scratchpad starts after them.
        let staged = { (weights: MemoryDescriptor) in training ? PlanContext.workspaceBytes(weights.byteCount) : 0 }
        forwardPrimitive = try context.primitive(forward, scratchpadOffset: staged(forward.memoryDescriptor(.weights)))
        (source, destination) = (forward.memoryDescriptor(.source), forward.memoryDescriptor(.destination))
        weights = try context.memory(forward.memoryDescriptor(.weights), slot: training ? .workspace : nil)
        bias = try biasDescriptor.map { try Memory($0) }

        guard training else {
            (backwardDataPrimitive, backwardWeightsPrimitive) = (nil, nil)
            (backwardDataWeights, diffWeights, diffBias, bf16GradientInputs) = (nil, nil, nil, nil)
            return
        }
        // Each backward primitive picks its own algorithm (weights are staged per use, so layouts may differ);
        // its hint is a forward descriptor of the same algorithm.
        let winogradHint = winograd ? (forward.implementationName.contains("wino") ? forward : try? forwardDescriptor(.winograd)) : nil
        if options.inputGradient {
            func data(_ algorithm: ConvolutionAlgorithm, _ hint: PrimitiveDescriptor) throws -> PrimitiveDescriptor {
                try Self.backwardDataDescriptor(options, layouts: forward, hint: hint, algorithm: algorithm, context: context)
            }
            let chosen = context.preferWinograd(winogradHint.flatMap { try? data(.winograd, $0) }, over: try data(.direct, direct))
            let wanted = chosen.memoryDescriptor(.weights)
            backwardDataPrimitive = try context.primitive(chosen, scratchpadOffset: staged(wanted))
            backwardDataWeights = wanted == weights.descriptor ? nil : try context.memory(wanted, slot: .workspace)
        } else {
            (backwardDataPrimitive, backwardDataWeights) = (nil, nil)
        }
        func gradient(_ algorithm: ConvolutionAlgorithm, _ hint: PrimitiveDescriptor) throws -> PrimitiveDescriptor {
            try Self.backwardWeightsDescriptor(options, layouts: forward, hint: hint, algorithm: algorithm, context: context)
        }
        let winogradGradient = winogradHint.flatMap { try? gradient(.winograd, $0) }
        var chosen = context.preferWinograd(winogradGradient, over: try gradient(.direct, direct))
        let inBF16 = winograd && context.planPrecision == .bf16 && !context.admits(winograd: winogradGradient)
        if inBF16 {
            let bf16 = context.with(precision: .bf16)
            let layouts = try Self.forwardDescriptor(options, context: bf16, algorithm: .direct)
            chosen = try Self.backwardWeightsDescriptor(options, layouts: layouts, hint: layouts, algorithm: .direct, context: bf16)
        }
        let diffWeightsDescriptor = chosen.memoryDescriptor(.diffWeights)
        var end = options.diffWeightsOffset + PlanContext.workspaceBytes(diffWeightsDescriptor.byteCount)
        diffWeights = try context.memory(diffWeightsDescriptor, slot: .workspace, offset: options.diffWeightsOffset)
        diffBias = try biasDescriptor.map { try Memory($0) }
        if inBF16 {
            // The copies follow the weight gradient in the workspace, and the scratchpad follows them.
            let (copy, diffCopy) = (chosen.memoryDescriptor(.source), chosen.memoryDescriptor(.diffDestination))
            let sourceCopy = try context.memory(copy, slot: .workspace, offset: end)
            end += PlanContext.workspaceBytes(copy.byteCount)
            let diffDestinationCopy = try context.memory(diffCopy, slot: .workspace, offset: end)
            end += PlanContext.workspaceBytes(diffCopy.byteCount)
            bf16GradientInputs = (sourceCopy, diffDestinationCopy, try Reorder(from: source, to: copy),
                                  try Reorder(from: destination, to: diffCopy))
        } else {
            bf16GradientInputs = nil
        }
        backwardWeightsPrimitive = try context.primitive(chosen, scratchpadOffset: end)
    }

    /// `(N, C_out, H', W')` of a convolution with `options`.
    static func outputShape(_ options: Options) -> [Int] {
        let (h, w, k, p) = (options.inputShape[2], options.inputShape[3], options.kernelSize, options.padding)
        return [options.inputShape[0], options.outputChannels, h + 2 * p - k + 1, w + 2 * p - k + 1]
    }

    /// `(C_out, C_in, k, k)`.
    private static func weightShape(_ options: Options) -> [Int] {
        [options.outputChannels, options.inputShape[1], options.kernelSize, options.kernelSize]
    }

    /// Whether oneDNN has Winograd kernels for this convolution in the context's precision (fp32, 3x3, at
    /// least 32 channels in and out).
    private static func mayRunWinograd(_ options: Options, context: PlanContext) -> Bool {
        context.precision == .fp32 && options.kernelSize == 3 && options.inputShape[1] >= 32 && options.outputChannels >= 32
    }

    /// The forward descriptor of `options` in the context's precision and mode, with `algorithm`. Winograd for
    /// inference would keep weights pre-transformed (4x their size); the training variant of the same kernel
    /// transforms them on the fly from ordinary blocked weights, so Winograd always takes that one.
    private static func forwardDescriptor(
        _ options: Options, context: PlanContext, algorithm: ConvolutionAlgorithm
    ) throws -> PrimitiveDescriptor {
        let type = context.activationType
        var postOps: [PrimitiveAttributes.PostOp] = []
        if options.accumulate { postOps.append(.sum(scale: 1)) }
        if options.relu { postOps.append(.relu) }
        return try .convolutionForward(
            .convolution, training: context.training || algorithm == .winograd,
            source: try MemoryDescriptor(dims: options.inputShape, dataType: type, format: options.sourceFormat ?? context.activationFormat),
            weights: try MemoryDescriptor(dims: weightShape(options), dataType: type, format: .any),
            bias: options.bias ? try MemoryDescriptor(dims: [options.outputChannels], format: .a) : nil,
            destination: try MemoryDescriptor(dims: outputShape(options), dataType: type, format: context.activationFormat),
            geometry: SpatialGeometry(stride: 1, padding: options.padding), attributes: try context.attributes(postOps),
            algorithm: algorithm)
    }

    /// The backward-data descriptor of `options` in the context's precision with `algorithm` (the forward
    /// `hint`'s), on the source and destination layouts of the forward `layouts`; weights in the layout oneDNN
    /// prefers.
    private static func backwardDataDescriptor(
        _ options: Options, layouts: PrimitiveDescriptor, hint: PrimitiveDescriptor, algorithm: ConvolutionAlgorithm,
        context: PlanContext
    ) throws -> PrimitiveDescriptor {
        try .convolutionBackwardData(
            .convolution, diffSource: layouts.memoryDescriptor(.source),
            weights: try MemoryDescriptor(dims: weightShape(options), dataType: context.activationType, format: .any),
            diffDestination: layouts.memoryDescriptor(.destination), geometry: SpatialGeometry(stride: 1, padding: options.padding),
            hint: hint, algorithm: algorithm, attributes: try context.attributes())
    }

    /// The backward-weights descriptor of `options` with `algorithm` (the forward `hint`'s), on the source and
    /// destination layouts of the forward `layouts`: float32 weight (and bias) gradients in the layout oneDNN
    /// prefers.
    private static func backwardWeightsDescriptor(
        _ options: Options, layouts: PrimitiveDescriptor, hint: PrimitiveDescriptor, algorithm: ConvolutionAlgorithm,
        context: PlanContext
    ) throws -> PrimitiveDescriptor {
        try .convolutionBackwardWeights(
            .convolution, source: layouts.memoryDescriptor(.source),
            diffWeights: try MemoryDescriptor(dims: weightShape(options), format: .any),
            diffBias: options.bias ? try MemoryDescriptor(dims: [options.outputChannels], format: .a) : nil,
            diffDestination: layouts.memoryDescriptor(.destination), geometry: SpatialGeometry(stride: 1, padding: options.padding),
            hint: hint, algorithm: algorithm, attributes: try context.attributes())
    }

    /// Whether this convolution would run as Winograd in fp32 (within the context's scratchpad limit), without
    /// building it; in training, its backward-data pass too (a bf16 plan's weight gradient that fp32 Winograd
    /// cannot fit runs in bf16).
    static func runsWinogradInFP32(_ options: Options, context: PlanContext) -> Bool {
        let fp32 = context.with(precision: .fp32)
        guard mayRunWinograd(options, context: fp32),
              let forward = try? forwardDescriptor(options, context: fp32, algorithm: .winograd),
              fp32.admits(winograd: forward) else { return false }
        guard fp32.training, options.inputGradient else { return true }
        return fp32.admits(winograd: try? backwardDataDescriptor(
            options, layouts: forward, hint: forward, algorithm: .winograd, context: fp32))
    }

    // MARK: - Weights

    /// Copies a plain PyTorch weight (or the channel slice `view` of one) and bias into the forward layout.
    func loadWeights(_ weight: Tensor, view: PlainView, bias biasTensor: Tensor?) throws {
        try Self.stage(weight, view, into: weights, shape: weightShape)
        try loadBias(biasTensor)
    }

    /// Copies the weight into the layout the backward-data primitive reads (training, before `backwardData`).
    func loadBackwardDataWeights(_ weight: Tensor, view: PlainView) throws {
        try Self.stage(weight, view, into: backwardDataWeights ?? weights, shape: weightShape)
    }

    /// `loadWeights` from a memory holding the whole weight, row-major.
    func loadWeights(plain weight: Memory, bias biasTensor: Tensor?) throws {
        try copy(weight, to: weights)
        try loadBias(biasTensor)
    }

    private func loadBias(_ biasTensor: Tensor?) throws {
        if let bias, let biasTensor { try biasTensor.copy(try .whole([options.outputChannels]), to: bias) }
    }

    /// `loadBackwardDataWeights` from a memory holding the whole weight, row-major.
    func loadBackwardDataWeights(plain weight: Memory) throws {
        try copy(weight, to: backwardDataWeights ?? weights)
    }

    /// Training: the bytes at the start of the workspace that the staged weights and the weight gradient take.
    /// Above them the workspace is free between this convolution's primitives.
    var stagedWorkspaceBytes: Int {
        guard let diffWeights else { return 0 }
        let staged = [weights, backwardDataWeights ?? weights].map { PlanContext.workspaceBytes($0.descriptor.byteCount) }
        return max(staged.max()!, options.diffWeightsOffset + PlanContext.workspaceBytes(diffWeights.descriptor.byteCount))
    }

    /// Reorders `view` of `weight` into `destination`; through a dense OIHW copy when oneDNN has no direct
    /// reorder from the strided view.
    private static func stage(_ weight: Tensor, _ view: PlainView, into destination: Memory, shape: [Int]) throws {
        do {
            try weight.copy(view, to: destination)
        } catch is DNNLError {
            let dense = try Memory(MemoryDescriptor(dims: shape, format: .abcd))
            try weight.copy(view, to: dense)
            try copy(dense, to: destination)
        }
    }

    /// The output channels a piece of the weight gradient may start at a multiple of: the blocking of `O` in
    /// the diff weights' layout.
    var weightGradientAlignment: Int { diffWeights?.descriptor.blockSize(ofDimension: 0) ?? 1 }

    /// Writes output channels `rows` of the last `backwardWeights`'s weight gradient into `view` — the plain
    /// layout of those rows — of the buffer at `base`.
    /// - Precondition: `rows` starts at a multiple of `weightGradientAlignment`.
    func storeWeightGradient(rows: Range<Int>, into base: UnsafeMutablePointer<Float>, view: PlainView) throws {
        guard let diffWeights else { return }
        guard rows.count < weightShape[0] else { return try store(diffWeights, into: base, view: view) }
        let part = try diffWeights.descriptor.submemory(dims: [rows.count] + weightShape.dropFirst(),
                                                        offsets: [rows.lowerBound, 0, 0, 0])
        try store(try Memory(part, pointer: diffWeights.dataPointer, owner: diffWeights), into: base, view: view)
    }

    // MARK: - Execution

    /// The median seconds of this convolution's forward alone, on buffers of its own.
    func timeForward(repetitions: Int) throws -> Double {
        let (source, destination) = (try Memory(self.source), try Memory(self.destination))
        for memory in [source, destination] {
            memory.dataPointer.initializeMemory(as: UInt8.self, repeating: 0, count: memory.descriptor.byteCount)
        }
        try forward(source, destination)
        var times: [Double] = []
        for _ in 0..<max(repetitions, 1) {
            let start = ContinuousClock.now
            try forward(source, destination)
            let elapsed = ContinuousClock.now - start
            times.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        return times.sorted()[times.count / 2]
    }

    func forward(_ source: Memory, _ destination: Memory) throws {
        var arguments: [Argument: Memory] = [.source: source, .weights: weights, .destination: destination]
        if let bias { arguments[.bias] = bias }
        try forwardPrimitive.execute(arguments)
    }

    func backwardData(_ diffDestination: Memory, _ diffSource: Memory) throws {
        guard let backwardDataPrimitive else { return }
        try backwardDataPrimitive.execute([
            .diffDestination: diffDestination, .weights: backwardDataWeights ?? weights, .diffSource: diffSource,
        ])
    }

    func backwardWeights(_ source: Memory, _ diffDestination: Memory) throws {
        guard let backwardWeightsPrimitive, let diffWeights else { return }
        var (source, diffDestination) = (source, diffDestination)
        if let copies = bf16GradientInputs {
            try copies.toSource(source, copies.source)
            try copies.toDiff(diffDestination, copies.diffDestination)
            (source, diffDestination) = (copies.source, copies.diffDestination)
        }
        var arguments: [Argument: Memory] = [.source: source, .diffDestination: diffDestination, .diffWeights: diffWeights]
        if let diffBias { arguments[.diffBias] = diffBias }
        try backwardWeightsPrimitive.execute(arguments)
    }
}
