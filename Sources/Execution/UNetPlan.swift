import DNNL
import Kernels
import Models
import NN
import Tensors

/// A `UNet` compiled for one input shape and precision: every oneDNN primitive created and every memory
/// allocated once, activations kept in oneDNN's blocked layout (`nChw16c`) from layer to layer, BN folded or
/// fused, skips joined without concatenation copies. Forward and backward only execute.
///
/// Buffers are shared along the graph: a block's output is the next step's input, and each backward step
/// writes its input gradient straight into the buffer the preceding step's backward reads. A skip's two
/// gradients (through the pool and through the decoder) meet in one in-place add.
final class UNetPlan {
    let model: UNet
    let precision: Precision
    let training: Bool
    let inputShape: [Int]
    let outputShape: [Int]

    let input: Memory
    private let inputReorder: Reorder
    let encoders: [DoubleConvStep]
    let pools: [PoolingStep]
    /// `pooled[ℓ]` feeds encoder `ℓ + 1`.
    private let pooled: [Memory]
    /// `conversions[ℓ]`: where level `ℓ + 1` runs in another precision than level `ℓ`, the pool writes its
    /// source and it converts into `pooled[ℓ]`; in training it converts the pooled map's gradient back for the
    /// pool's backward.
    private let conversions: [ConversionStep?]
    /// The precision each level runs in, from the top (see `precision(ofLevel:block:inputShape:context:)`).
    let levelPrecisions: [Precision]
    let upsamplers: [UpsamplingStep]
    /// `upsampled[i]`: output of decoder step `i`'s up-sampling.
    private let upsampled: [Memory]
    let decoders: [DoubleConvStep]
    private let joins: [SkipJoin]
    let head: ConvolutionStep
    let logits: Memory
    private let logitsReorder: Reorder
    private let diffLogits: Memory?
    private let diffLogitsReorder: Reorder?
    private let skipAdds: [AddStep]

    /// How decoder step `i` gets its two inputs from the up-sampled map and the skip.
    struct SkipJoin {
        /// The memories the decoder reads, in the model's concatenation order.
        let sources: [Memory]
        /// Index in `sources` of the skip and of the up-sampled map.
        let skipIndex: Int
        let upsampledIndex: Int
        /// Zero-pads the up-sampled map (pad merge) or crops the skip (crop merge), when sizes differ.
        let padUpsampled: SpatialWindowStep?
        let cropSkip: SpatialWindowStep?
        /// Gradient copies for those: crop the padded map's gradient; zero-pad the cropped skip's gradient.
        let unpadGradient: SpatialWindowStep?
        let uncropGradient: SpatialWindowStep?
        /// The up-sampling's output gradient (the decoder's, or its unpadded window).
        let diffUpsampled: Memory?
        /// The skip's gradient from the decoder, at the skip's full size.
        let diffSkip: Memory?
    }

    /// What every step shares: arena slots and the scratchpad. Inference needs two activation slots: `flowing`
    /// holds whatever passes between blocks — a pooled map, the bottom's output, an up-sampled map, a decoder's
    /// output — each dead once the next block's first convolution has read it; `hidden` holds each block's inner
    /// map and each 1x1 up-convolution's output, and above them the skips (`placeSkips`). Training keeps forward
    /// activations for backward and shares the gradients: `diffFlow` carries each block's output gradient,
    /// `diffInner` the block-internal one (and, between blocks, the 1x1 up-convolution's output and its gradient,
    /// and a conversion's pooled map and its gradient), `diffPooled` the pooled map's; a decoder's two input
    /// gradients (the skip's, which waits for the encoder's backward, and the up-sampled map's) go into its spent
    /// pre-norm maps, or without batch norm into storage of the skip's own and `diffUpsampled`. With batch norm,
    /// training keeps the convolutions' outputs, not the BN+ReLU outputs: each block's inner map and each decoder's
    /// output live in `hidden`, each encoder's output (a skip) in `flowing`, and they are made again from the
    /// pre-norm maps when read later. With `recomputesConvolutions`, each block's first convolution output lives in
    /// `preNorm` and each up-sampled map in `upsampled`, and backward runs those convolutions again.
    private let context: PlanContext

    /// Training: whether backward runs each block's first convolution (with batch norm) and each up-sampling
    /// again instead of keeping their outputs.
    let recomputesConvolutions: Bool

    /// - Parameter recomputesConvolutions: see the property (`CompiledUNet.init` has its costs).
    init(model: UNet, inputShape: [Int], precision: Precision, training: Bool, recomputesConvolutions: Bool) throws {
        try model.checkInput(inputShape)
        self.model = model
        self.precision = precision
        self.training = training
        self.inputShape = inputShape
        self.recomputesConvolutions = training && recomputesConvolutions
        // The largest activation: the first level's maps, (N, base width, H, W).
        let largest = inputShape[0] * model.configuration.width(0) * inputShape[2] * inputShape[3] * (precision == .bf16 ? 2 : 4)
        // Every width is the base width times a power of two (milesial's bilinear halving included).
        let context = PlanContext(precision: precision, training: training, largestActivation: largest,
                                  channelMultiple: model.configuration.baseWidth)
        self.context = context
        let c = model.configuration
        let d = c.depth
        let preNorm: PlanContext.Slot? = recomputesConvolutions ? .preNorm : nil

        // Encoder: inc, then (pool, DoubleConv) per level, each level in its precision (`contexts`).
        var encoders: [DoubleConvStep] = []
        var pools: [PoolingStep] = []
        var pooled: [Memory] = []
        var conversions: [ConversionStep?] = []
        var contexts: [PlanContext] = []
        for level in 0...d {
            var shape = inputShape
            var levelContext = context
            if level > 0 {
                let above = contexts[level - 1]
                let pool = try PoolingStep(inputShape: encoders[level - 1].outputShape, context: above)
                pools.append(pool)
                shape = pool.outputShape
                levelContext = context.with(precision: Self.precision(
                    ofLevel: level, block: model.encoders[level], inputShape: shape, context: context))
                let map = try levelContext.memory(
                    MemoryDescriptor(dims: shape, dataType: levelContext.activationType, format: context.activationFormat),
                    slot: training ? nil : .flowing)
                pooled.append(map)
                let changes = levelContext.precision != above.precision
                conversions.append(changes ? try ConversionStep(from: above.activationType, to: map, context: context) : nil)
            }
            contexts.append(levelContext)
            encoders.append(try DoubleConvStep(
                block: model.encoders[level], inputs: [.init(shape: shape, channels: 0..<shape[1])],
                inputGradient: level > 0, sourceFormat: level == 0 ? .any : context.activationFormat,
                slots: .init(hidden: .hidden, output: level == d ? .flowing : .hidden, recomputedOutput: .flowing,
                             recomputedPreNorm: preNorm, diffInputs: [.slot(.diffPooled)]),
                context: levelContext))
        }
        levelPrecisions = contexts.map(\.precision)
        input = try Memory(encoders[0].firstParts[0].source)
        inputReorder = try Reorder(from: try MemoryDescriptor(dims: inputShape, format: .abcd), to: input.descriptor)

        // Decoder: up-sample, join with the skip, DoubleConv.
        var upsamplers: [UpsamplingStep] = []
        var upsampled: [Memory] = []
        var decoders: [DoubleConvStep] = []
        var joins: [SkipJoin] = []
        var h = encoders[d].outputShape
        for i in 0..<d {
            let (skip, levelContext) = (encoders[d - 1 - i], contexts[d - 1 - i])
            let step: UpsamplingStep
            switch model.upsamplers[i] {
            case .transposed(let layer):
                step = .transposed(try TransposedConvolutionStep(
                    inputShape: h, outputChannels: layer.weight.value.shape[1], context: contexts[d - i],
                    outputPrecision: levelContext.precision), layer)
            case .bilinear:
                step = .bilinear(BilinearUpsamplingStep(inputShape: h))
            }
            upsamplers.append(step)
            // In inference the up-sampled map overwrites its input's slot: the 1x1 path's output goes through the
            // hidden slot first, and bilinear copies its input out first.
            let u = try context.memory(
                MemoryDescriptor(dims: step.outputShape, dataType: levelContext.activationType, format: context.activationFormat),
                slot: training ? (recomputesConvolutions ? .upsampled : nil) : .flowing)
            upsampled.append(u)
            let (join, decoder) = try Self.join(
                upsampled: u, skip: skip, configuration: c, block: model.decoders[i], preNorm: preNorm, context: levelContext)
            joins.append(join)
            decoders.append(decoder)
            h = decoder.outputShape
        }

        // Blocked logits, reordered to plain NCHW: a plain destination would send oneDNN to its reference kernel.
        head = try ConvolutionStep(.init(
            inputShape: h, outputChannels: c.classes, kernelSize: 1, padding: 0, inputGradient: true, bias: true),
            context: contexts[0])
        outputShape = head.outputShape
        // For inference the hidden slot is free once the last decoder has run.
        logits = try context.memory(head.destination, slot: training ? nil : .hidden)
        let plainLogits = try MemoryDescriptor(dims: outputShape, format: .abcd)
        logitsReorder = try Reorder(from: head.destination, to: plainLogits)
        if training {
            diffLogits = try Memory(head.destination)
            diffLogitsReorder = try Reorder(from: plainLogits, to: head.destination)
            skipAdds = try (0..<d).map { try AddStep(data: encoders[$0].output.descriptor, context: context) }
        } else {
            (diffLogits, diffLogitsReorder, skipAdds) = (nil, nil, [])
        }
        if !training { Self.placeSkips(encoders: encoders, upsamplers: upsamplers, decoders: decoders, context: context) }
        try context.allocate()
        (self.encoders, self.pools, self.pooled, self.conversions) = (encoders, pools, pooled, conversions)
        (self.upsamplers, self.upsampled, self.decoders, self.joins) = (upsamplers, upsampled, decoders, joins)
    }

    /// The precision level `level` runs in (encoder and decoder), given its input shape. A bf16 plan runs a level
    /// below the first in fp32 where it is at least 256 channels wide on at least 1024 pixels (batch × height ×
    /// width) and oneDNN would run its convolutions as fp32 Winograd within the scratchpad limit (in training, their
    /// backward-data passes too), unless bf16 convolutions run on AMX. F(4x4, 3x3) Winograd does a quarter of the
    /// multiplications, so at half the bf16 rate it beats bf16 direct by 20–30% there (AVX-512 with bf16, base 64 at
    /// 256², batch 4: 28 ms against 41 for a 512-channel convolution, 33 against 41 for 256 channels). It also
    /// transforms the weights at every run, and every input and output tile: on fewer pixels or narrower levels that
    /// costs more than it saves (1024 channels at 16², batch 1: 22 ms against 10; 128 channels at 16², batch 8: 1.45
    /// against 1.21; 32 channels at 64², batch 8: 1.68 against 1.31). The first level keeps the plan's precision:
    /// its maps are the network's largest, and halving them is what bf16 saves in memory. Training (base 64 at
    /// 256², batch 2): the 256-channel level's three passes take 185 ms against 253 in bf16; the 512-channel
    /// level's take 205 against 250, its weight gradient running in bf16 (fp32 Winograd's would need more
    /// scratch than the limit, and fp32 direct is 2.4x slower than bf16). The step is 9% faster for 62 MB more
    /// peak memory, most of it Winograd's scratchpad. The 128-channel level would give 3% more for 80 MB more,
    /// past the memory target, which is why narrower levels stay bf16 in training too.
    private static func precision(ofLevel level: Int, block: DoubleConv, inputShape: [Int], context: PlanContext) -> Precision {
        let width = block.conv2.weight.value.shape[0]
        guard context.precision == .bf16, level > 0, !CPUISA.hasAMX, width >= 256,
              inputShape[0] * inputShape[2] * inputShape[3] >= 1024 else { return context.precision }
        // The block's second convolution stands for the level: the widest, on the level's largest maps.
        let p = block.conv1.padding
        let first = ConvolutionStep.Options(
            inputShape: inputShape, outputChannels: block.conv1.weight.value.shape[0], kernelSize: 3, padding: p,
            inputGradient: context.training, bias: true, relu: true)
        var second = first
        (second.inputShape, second.outputChannels) = (ConvolutionStep.outputShape(first), width)
        return ConvolutionStep.runsWinogradInFP32(second, context: context) ? .fp32 : context.precision
    }

    /// Inference: skip `k` (encoder `k`'s output) is live from encoder `k` to decoder `k`, while the steps of
    /// level `k` and the deeper levels run and no step of a level above. So in the hidden slot it starts above
    /// the hidden maps of those steps (the blocks' inner maps, the 1x1 up-convolutions' outputs) and the deeper
    /// skips, and the steps of the levels above reuse its storage: the maps of the first level overlay all the
    /// deeper skips.
    private static func placeSkips(encoders: [DoubleConvStep], upsamplers: [UpsamplingStep], decoders: [DoubleConvStep],
                                   context: PlanContext) {
        let d = decoders.count
        var beneath: [Memory] = []
        for level in stride(from: d, through: 0, by: -1) {
            beneath.append(encoders[level].hidden)
            guard level < d else { continue }
            let i = d - 1 - level
            beneath.append(decoders[i].hidden)
            if case .transposed(let step, _) = upsamplers[i] { beneath.append(step.expanded) }
            context.place(encoders[level].output, after: beneath)
            beneath.append(encoders[level].output)
        }
    }

    /// Builds decoder step `i`'s join and DoubleConv for an up-sampled map `u` and an encoder `skip`.
    private static func join(
        upsampled u: Memory, skip: DoubleConvStep, configuration c: UNetConfiguration, block: DoubleConv,
        preNorm: PlanContext.Slot?, context: PlanContext
    ) throws -> (SkipJoin, DoubleConvStep) {
        let (type, training) = (context.activationType, context.training)
        let (uShape, sShape) = (u.descriptor.dims, skip.outputShape)
        let (dy, dx) = (sShape[2] - uShape[2], sShape[3] - uShape[3])
        guard dy >= 0, dx >= 0 else {
            throw UNetError.invalidInput("the compiled network needs each up-sampled map no larger than its skip; got \(uShape) and \(sShape)")
        }
        var skipSource = skip.output
        var upsampledSource = u
        var padUpsampled: SpatialWindowStep?
        var cropSkip: SpatialWindowStep?
        // milesial pads [dx // 2, dx - dx // 2, dy // 2, dy - dy // 2]; dx, dy ≥ 0 here, so the window starts at (dy/2, dx/2).
        if dy > 0 || dx > 0 {
            switch c.merge {
            case .pad:
                let padded = try Memory(MemoryDescriptor(dims: [uShape[0], uShape[1], sShape[2], sShape[3]],
                                                         dataType: type, format: context.activationFormat))
                padUpsampled = try SpatialWindowStep(small: u, large: padded, offset: (dy / 2, dx / 2), zeroBorder: true)
                upsampledSource = padded
            case .crop:
                let cropped = try Memory(MemoryDescriptor(dims: [sShape[0], sShape[1], uShape[2], uShape[3]],
                                                          dataType: type, format: context.activationFormat))
                let p = try centerCropOffsets(sShape, uShape)
                cropSkip = try SpatialWindowStep(small: cropped, large: skip.output, offset: p, zeroBorder: false)
                skipSource = cropped
            }
        }
        let skipFirst = c.concatOrder == .skipFirst
        let sources = skipFirst ? [skipSource, upsampledSource] : [upsampledSource, skipSource]
        var offset = 0
        let inputs = sources.map { source -> DoubleConvStep.Input in
            let shape = source.descriptor.dims
            defer { offset += shape[1] }
            return .init(shape: shape, channels: offset..<(offset + shape[1]))
        }
        let (skipIndex, upIndex) = skipFirst ? (0, 1) : (1, 0)
        // The skip's gradient from the decoder stays until the encoder's backward; the up-sampled map's is read
        // right after the decoder's backward, by the up-sampling's.
        var diffSlots: [DoubleConvStep.GradientStorage] = [.kept, .kept]
        diffSlots[upIndex] = .transient(fallback: .diffUpsampled)
        let decoder = try DoubleConvStep(
            block: block, inputs: inputs, inputGradient: true,
            slots: .init(hidden: .hidden, output: .flowing, recomputedOutput: .hidden, recomputedPreNorm: preNorm,
                         diffInputs: diffSlots),
            context: context)
        var unpad: SpatialWindowStep?
        var uncrop: SpatialWindowStep?
        var diffUpsampled: Memory?
        var diffSkip: Memory?
        if training {
            diffUpsampled = decoder.diffInputs[upIndex]
            diffSkip = decoder.diffInputs[skipIndex]
            if padUpsampled != nil {
                let small = try Memory(u.descriptor)
                unpad = try SpatialWindowStep(small: small, large: decoder.diffInputs[upIndex],
                                              offset: (dy / 2, dx / 2), zeroBorder: false)
                diffUpsampled = small
            }
            if cropSkip != nil {
                let full = try Memory(skip.output.descriptor)
                uncrop = try SpatialWindowStep(small: decoder.diffInputs[skipIndex], large: full,
                                               offset: try centerCropOffsets(sShape, uShape), zeroBorder: true)
                diffSkip = full
            }
        }
        let join = SkipJoin(sources: sources, skipIndex: skipIndex, upsampledIndex: upIndex, padUpsampled: padUpsampled,
                            cropSkip: cropSkip, unpadGradient: unpad, uncropGradient: uncrop, diffUpsampled: diffUpsampled,
                            diffSkip: diffSkip)
        return (join, decoder)
    }

    /// `(top, left)` of torchvision's center crop of `large` to `small`'s spatial size.
    private static func centerCropOffsets(_ large: [Int], _ small: [Int]) throws -> (Int, Int) {
        let p = try centerCropPadding(inputHeight: large[2], inputWidth: large[3], height: small[2], width: small[3])
        return (-p.top, -p.left)
    }

    /// Bytes of each shared slot.
    var sharedMemory: [(slot: String, bytes: Int)] {
        context.slotBytes.sorted { $0.key < $1.key }.map {
            ("\(PlanContext.Slot(rawValue: $0.key).map { "\($0)" } ?? "?")", $0.value)
        }
    }

    // MARK: - Parameters

    /// Inference: copies every parameter of the model in (folding BN). Training: copies the batch-norm
    /// parameters; convolution weights are staged right before each use.
    /// - Parameter releasingModelWeights: empty each module's tensors right after they are loaded (inference).
    func loadParameters(releasingModelWeights: Bool = false) throws {
        for (block, module) in zip(encoders + decoders, model.encoders + model.decoders) {
            try block.loadParameters()
            if releasingModelWeights { release(module) }
        }
        guard !training else { return }
        for (step, module) in zip(upsamplers, model.upsamplers) {
            try step.loadParameters()
            if releasingModelWeights { release(module.module) }
        }
        try loadHead()
        if releasingModelWeights { release(model.head) }
    }

    /// Replaces every tensor of `module` with an empty one, freeing its storage.
    private func release(_ module: any Module) {
        for (_, parameter) in module.namedParameters() { parameter.value = Tensor(shape: [0]) }
    }

    private func loadHead() throws {
        try head.loadWeights(model.head.weight.value, view: try .whole(model.head.weight.value.shape),
                             bias: model.head.bias?.value)
    }

    // MARK: - Forward

    /// Logits `(N, classes, H', W')` for `x` `(N, C_in, H, W)`, both plain float32.
    func forward(_ x: Tensor) throws -> Tensor {
        guard x.shape == inputShape else {
            throw UNetError.invalidInput("the compiled network takes \(inputShape), got \(x.shape)")
        }
        try x.withUnsafeBufferPointer { buffer in
            try Memory.borrowing(try MemoryDescriptor(dims: inputShape, format: .abcd),
                                 UnsafeMutableRawPointer(mutating: buffer.baseAddress!)) { try inputReorder($0, input) }
        }
        try encoders[0].forward([input])
        for level in 1..<encoders.count {
            let conversion = conversions[level - 1]
            try pools[level - 1].forward(encoders[level - 1].output, conversion?.source ?? pooled[level - 1])
            try conversion?()
            try encoders[level].forward([pooled[level - 1]])
        }
        let d = decoders.count
        var h = encoders[d].output
        for (i, decoder) in decoders.enumerated() {
            if training { try upsamplers[i].loadParameters() }
            try upsamplers[i].forward(h, upsampled[i])
            try joins[i].padUpsampled?.insert()
            try encoders[d - 1 - i].recomputeOutput()
            try joins[i].cropSkip?.extract()
            try decoder.forward(joins[i].sources)
            h = decoder.output
        }
        if training { try loadHead() }
        try head.forward(h, logits)
        var result = Tensor.empty(shape: outputShape)
        try result.withUnsafeMutableBufferPointer { buffer in
            try Memory.borrowing(try MemoryDescriptor(dims: outputShape, format: .abcd),
                                 UnsafeMutableRawPointer(buffer.baseAddress!)) { try logitsReorder(logits, $0) }
        }
        return result
    }

    // MARK: - Backward

    /// Back-propagates `dLogits` through the last forward, handing every parameter's gradient to `sink`.
    func backward(_ dLogits: Tensor, gradients sink: GradientSink) throws {
        guard let diffLogits, let diffLogitsReorder else {
            throw UNetError.invalidInput("this compiled network was built for inference")
        }
        guard dLogits.shape == outputShape else {
            throw UNetError.invalidInput("the logits gradient must be \(outputShape), got \(dLogits.shape)")
        }
        try dLogits.withUnsafeBufferPointer { buffer in
            try Memory.borrowing(try MemoryDescriptor(dims: outputShape, format: .abcd),
                                 UnsafeMutableRawPointer(mutating: buffer.baseAddress!)) { try diffLogitsReorder($0, diffLogits) }
        }
        let d = decoders.count
        // Head: its input gradient is the last decoder's output gradient.
        try head.loadBackwardDataWeights(model.head.weight.value, view: try .whole(model.head.weight.value.shape))
        try head.backwardData(diffLogits, decoders[d - 1].diffOutput!)
        try decoders[d - 1].recomputeOutput()
        try head.backwardWeights(decoders[d - 1].output, diffLogits)
        try sink.deliver(model.head.weight, alignment: head.weightGradientAlignment) { rows, base in
            try head.storeWeightGradient(rows: rows, into: base, view: try .whole([rows.count] + model.head.weight.value.shape.dropFirst()))
        }
        if let bias = model.head.bias, let diffBias = head.diffBias { try sink.deliver(bias, copying: diffBias) }

        // Decoder, deepest last: each step's up-sampling writes the gradient of the step below it.
        for i in stride(from: d - 1, through: 0, by: -1) {
            let join = joins[i]
            let below = i > 0 ? decoders[i - 1] : encoders[d]
            // The decoder's inputs, made again where they live in shared slots: the up-sampled map (not read when
            // padded: the padded copy is kept), then the skip (not read when cropped), whose slot may be the
            // bottom's.
            if recomputesConvolutions && join.padUpsampled == nil {
                try below.recomputeOutput()
                try upsamplers[i].loadParameters()
                try upsamplers[i].forward(below.output, upsampled[i])
            }
            if join.cropSkip == nil { try encoders[d - 1 - i].recomputeOutput() }
            try decoders[i].backward(join.sources, gradients: sink)
            try join.unpadGradient?.extract()
            try join.uncropGradient?.insert()
            if upsamplers[i].backwardReadsSource { try below.recomputeOutput() }
            try upsamplers[i].backward(source: below.output, join.diffUpsampled!, below.diffOutput!, gradients: sink)
        }

        // Encoder, deepest first: pool backward writes the skip's gradient, then the decoder's part is added.
        for level in stride(from: d, through: 0, by: -1) {
            let sources = level == 0 ? [input] : [pooled[level - 1]]
            try encoders[level].backward(sources, gradients: sink)
            guard level > 0 else { break }
            let skip = encoders[level - 1]
            let diffPooled = encoders[level].diffInputs[0]
            try pools[level - 1].backward(try conversions[level - 1]?.backward(diffPooled) ?? diffPooled, skip.diffOutput!)
            try skipAdds[level - 1](skip.diffOutput!, plus: joins[d - level].diffSkip!)
        }
    }
}
