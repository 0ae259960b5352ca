import DNNL
import Models
import NN
import Tensors

/// A `DoubleConv` — (3x3 conv → [BN] → ReLU) × 2 — in the compiled network.
///
/// The first convolution is split over its inputs: a decoder block's PyTorch module convolves
/// `cat([skip, upsampled])`, which equals convolving each input with its slice of the weight's input
/// channels and summing (oneDNN `sum` post-op), so no concatenated copy is ever made and backward yields each
/// input's gradient separately. For inference, batch norm is folded into the convolutions
/// (`w·γ/√(σ²+ε)`, `(b − μ)·γ/√(σ²+ε) + β`) and ReLU is a post-op; for training, BN and ReLU run as one fused
/// oneDNN primitive, or, without BN, ReLU stays a post-op whose gradient is computed from its output. With BN,
/// training keeps only the convolutions' outputs for backward: the BN+ReLU outputs are made again from them
/// with the batch statistics when backward needs them (a memory-bound pass, far cheaper than storing them).
/// The first convolution's output can be made again too (`Slots.recomputedPreNorm`): one more forward
/// convolution in backward instead of keeping the block's largest map.
final class DoubleConvStep {
    struct Input {
        let shape: [Int]
        /// The input channels of the PyTorch weight this input multiplies.
        let channels: Range<Int>
    }

    /// Where the block's memories live (nil: storage of their own).
    struct Slots {
        /// The inner map: in inference, and in training with batch norm, where backward makes it again from the
        /// first convolution's output instead of keeping it.
        var hidden: PlanContext.Slot?
        /// The output in inference.
        var output: PlanContext.Slot?
        /// The output in training with batch norm, when the network calls `recomputeOutput()` before each use
        /// (nil: kept).
        var recomputedOutput: PlanContext.Slot?
        /// The first convolution's output in training with batch norm, when backward convolves the inputs again
        /// to make it (nil: kept). The inputs must then hold their forward values at the block's backward.
        var recomputedPreNorm: PlanContext.Slot?
        /// Training: where each input's gradient goes.
        var diffInputs: [GradientStorage] = []
    }

    /// Storage for an input gradient. The block's pre-norm maps are free once backward has passed both batch
    /// norms, before any input gradient is written, so gradients may go into them.
    enum GradientStorage {
        /// A shared slot.
        case slot(PlanContext.Slot)
        /// Storage valid until the next forward (a skip's gradient, which waits for the encoder's backward): the
        /// second pre-norm map if it is large enough, else a buffer of its own.
        case kept
        /// Storage read right after the block's backward, before any other block runs (the up-sampled map's
        /// gradient): the first pre-norm map if it is large enough, else `fallback`.
        case transient(fallback: PlanContext.Slot?)
    }

    let block: DoubleConv
    let inputs: [Input]
    let training: Bool
    let firstParts: [ConvolutionStep]
    let second: ConvolutionStep
    let norm1, norm2: BatchNormReLUStep?
    let relu1Gradient, relu2Gradient: ReLUGradientStep?
    /// Output of each convolution before BN (training with BN only): what backward keeps of the block.
    let preNorm1, preNorm2: Memory?
    /// Input of the second convolution.
    let hidden: Memory
    /// The block's output.
    let output: Memory
    /// Whether `output` lives in a shared slot and `recomputeOutput()` makes it again.
    let recomputesOutput: Bool
    /// Whether `preNorm1` lives in a shared slot and backward convolves again to make it.
    let recomputesPreNorm: Bool
    /// Gradients (training): of the output (filled by the caller), of the hidden map, and one per input. The
    /// batch-norm backward passes run in place on the first two.
    let diffOutput, diffHidden: Memory?
    let diffInputs: [Memory]

    var outputShape: [Int] { second.outputShape }

    init(block: DoubleConv, inputs: [Input], inputGradient: Bool, sourceFormat: FormatTag? = nil, slots: Slots,
         context: PlanContext) throws {
        self.block = block
        self.inputs = inputs
        let training = context.training
        self.training = training
        let padding = block.conv1.padding
        let middle = block.conv1.weight.value.shape[0]
        let normalized = block.norm1 != nil
        let separateNorm = training && normalized
        // The parts' weight gradients are live together (the weight's gradient is handed over from all of them),
        // so each takes its own range of the workspace.
        var diffWeightsOffset = 0
        firstParts = try inputs.enumerated().map { index, input in
            let part = try ConvolutionStep(.init(
                inputShape: input.shape, outputChannels: middle, kernelSize: 3, padding: padding, inputGradient: inputGradient,
                bias: index == 0 && (block.conv1.bias != nil || (normalized && !training)), accumulate: index > 0,
                relu: index == inputs.count - 1 && !separateNorm, sourceFormat: sourceFormat,
                diffWeightsOffset: diffWeightsOffset), context: context)
            diffWeightsOffset += PlanContext.workspaceBytes(part.diffWeights?.descriptor.byteCount ?? 0)
            return part
        }
        let hiddenShape = firstParts[0].outputShape
        second = try ConvolutionStep(.init(
            inputShape: hiddenShape, outputChannels: block.conv2.weight.value.shape[0], kernelSize: 3, padding: padding,
            inputGradient: true, bias: block.conv2.bias != nil || (normalized && !training), relu: !separateNorm),
            context: context)
        let (hiddenDescriptor, outputDescriptor) = (firstParts[0].destination, second.destination)
        // Without batch norm, training keeps both ReLU outputs: their gradients are computed from them.
        hidden = try context.memory(hiddenDescriptor, slot: training && !separateNorm ? nil : slots.hidden)
        recomputesOutput = separateNorm && slots.recomputedOutput != nil
        recomputesPreNorm = separateNorm && slots.recomputedPreNorm != nil
        output = try context.memory(outputDescriptor, slot: training ? (separateNorm ? slots.recomputedOutput : nil) : slots.output)
        if separateNorm {
            norm1 = try BatchNormReLUStep(shape: hiddenShape, data: hiddenDescriptor, context: context)
            norm2 = try BatchNormReLUStep(shape: second.outputShape, data: outputDescriptor, context: context)
            preNorm1 = try context.memory(hiddenDescriptor, slot: slots.recomputedPreNorm)
            preNorm2 = try Memory(outputDescriptor)
            (relu1Gradient, relu2Gradient) = (nil, nil)
        } else {
            (norm1, norm2, preNorm1, preNorm2) = (nil, nil, nil, nil)
            relu1Gradient = training ? try ReLUGradientStep(data: hiddenDescriptor, context: context) : nil
            relu2Gradient = training ? try ReLUGradientStep(data: outputDescriptor, context: context) : nil
        }
        if training {
            diffOutput = try context.memory(outputDescriptor, slot: .diffFlow)
            diffHidden = try context.memory(hiddenDescriptor, slot: .diffInner)
            let (kept, transient) = (preNorm2, preNorm1)
            diffInputs = inputGradient ? try firstParts.enumerated().map { index, part in
                let bytes = part.source.byteCount
                switch slots.diffInputs[index] {
                case .slot(let slot):
                    return try context.memory(part.source, slot: slot)
                case .kept:
                    guard let kept, bytes <= kept.descriptor.byteCount else { return try Memory(part.source) }
                    return try Memory(part.source, pointer: kept.dataPointer, owner: kept)
                case .transient(let fallback):
                    guard let transient, bytes <= transient.descriptor.byteCount else {
                        return try context.memory(part.source, slot: fallback)
                    }
                    // In a slot, the map's storage exists only after allocation: share the slot instead.
                    if let slot = slots.recomputedPreNorm { return try context.memory(part.source, slot: slot) }
                    return try Memory(part.source, pointer: transient.dataPointer, owner: transient)
                }
            } : []
        } else {
            (diffOutput, diffHidden) = (nil, nil)
            diffInputs = []
        }
    }

    // MARK: - Parameters

    /// Inference: copies the block's weights in once, folding batch norm. Training: copies the batch-norm
    /// parameters (the convolution weights are staged before each use).
    func loadParameters() throws {
        if training {
            if let norm1, let n = block.norm1 { try norm1.loadParameters(n) }
            if let norm2, let n = block.norm2 { try norm2.loadParameters(n) }
            return
        }
        let (w1, b1) = try foldedWeights(block.conv1, block.norm1)
        for (index, part) in firstParts.enumerated() {
            try part.loadWeights(w1, view: try .inputChannels(inputs[index].channels, ofWeight: w1.shape), bias: index == 0 ? b1 : nil)
        }
        let (w2, b2) = try foldedWeights(block.conv2, block.norm2)
        try second.loadWeights(w2, view: try .whole(w2.shape), bias: b2)
    }

    /// The convolution's weight and bias with eval-mode batch norm folded in.
    private func foldedWeights(_ conv: Conv2d, _ norm: BatchNorm2d?) throws -> (Tensor, Tensor?) {
        guard let norm else { return (conv.weight.value, conv.bias?.value) }
        let channels = norm.weight.value.count
        let scale = (0..<channels).map { o in
            norm.weight.value[flat: o] / (norm.runningVar.value[flat: o] + norm.epsilon).squareRoot()
        }
        let weight = conv.weight.value
        let perChannel = weight.count / channels
        let folded = Tensor(shape: weight.shape) { weight[flat: $0] * scale[$0 / perChannel] }
        let bias = Tensor(shape: [channels]) { o in
            ((conv.bias?.value[flat: o] ?? 0) - norm.runningMean.value[flat: o]) * scale[o] + norm.bias.value[flat: o]
        }
        return (folded, bias)
    }

    /// Input `index`'s slice of the first convolution's weight, its first `rows` output channels by default.
    private func firstView(_ index: Int, rows: Int? = nil) throws -> PlainView {
        let shape = block.conv1.weight.value.shape
        return try .inputChannels(inputs[index].channels, ofWeight: [rows ?? shape[0]] + shape.dropFirst())
    }

    /// The second convolution's whole weight, its first `rows` output channels.
    private func secondView(rows: Int) throws -> PlainView {
        try .whole([rows] + block.conv2.weight.value.shape.dropFirst())
    }

    // MARK: - Execution

    /// Runs the block on `sources` (one memory per input, in `inputs` order) into `output`.
    func forward(_ sources: [Memory]) throws {
        try convolveFirst(sources, into: preNorm1 ?? hidden)
        if let norm1, let preNorm1 {
            try norm1.forward(preNorm1, hidden)
            try norm1.updateRunningStatistics(block.norm1!)
        }
        if training { try second.loadWeights(block.conv2.weight.value, view: try .whole(block.conv2.weight.value.shape), bias: block.conv2.bias?.value) }
        try second.forward(hidden, preNorm2 ?? output)
        if let norm2, let preNorm2 {
            try norm2.forward(preNorm2, output)
            try norm2.updateRunningStatistics(block.norm2!)
        }
    }

    /// The first convolution of `sources` into `destination`, each part adding its input's share.
    private func convolveFirst(_ sources: [Memory], into destination: Memory) throws {
        for (index, (part, source)) in zip(firstParts, sources).enumerated() {
            if training { try part.loadWeights(block.conv1.weight.value, view: try firstView(index), bias: index == 0 ? block.conv1.bias?.value : nil) }
            try part.forward(source, destination)
        }
    }

    /// Training with batch norm and `recomputesOutput`: writes the last forward's output into its slot again
    /// (the slot has been reused since); call before each later read of `output` (a skip's in forward too).
    func recomputeOutput() throws {
        guard recomputesOutput, let norm2, let preNorm2 else { return }
        try norm2.recompute(preNorm2, output)
    }

    /// Back-propagates `diffOutput` (filled by the caller): input gradients into `diffInputs`, parameter
    /// gradients to `sink`. With batch norm, the hidden map is recomputed into its slot first (and, with
    /// `recomputesPreNorm`, the first convolution's output from `sources` before it).
    func backward(_ sources: [Memory], gradients sink: GradientSink) throws {
        guard let diffOutput, let diffHidden else { return }
        // Second convolution: BN+ReLU (or ReLU) backward in place, then data and weight gradients.
        if let norm2, let preNorm2 {
            try norm2.backward(preNorm2, diffOutput, diffOutput)
            try norm2.deliverGradients(block.norm2!, to: sink)
        } else if let relu2Gradient {
            try relu2Gradient(output: output, diffOutput, diffOutput)
        }
        // No copy of a weight tensor may outlive its use: the sink's optimizer step then updates it in place.
        try second.loadBackwardDataWeights(block.conv2.weight.value, view: try .whole(block.conv2.weight.value.shape))
        try second.backwardData(diffOutput, diffHidden)
        if let norm1, let preNorm1 {
            // The weights are still the forward's: no optimizer step has reached this block's first convolution.
            if recomputesPreNorm { try convolveFirst(sources, into: preNorm1) }
            try norm1.recompute(preNorm1, hidden)
        }
        try second.backwardWeights(hidden, diffOutput)
        try sink.deliver(block.conv2.weight, alignment: second.weightGradientAlignment) { rows, base in
            try second.storeWeightGradient(rows: rows, into: base, view: try secondView(rows: rows.count))
        }
        if let bias = block.conv2.bias, let diffBias = second.diffBias { try sink.deliver(bias, copying: diffBias) }

        // First convolution, one part per input: every input gradient first (they read the staged weights), then
        // the weight gradient, each part filling its input channels.
        if let norm1, let preNorm1 {
            try norm1.backward(preNorm1, diffHidden, diffHidden)
            try norm1.deliverGradients(block.norm1!, to: sink)
        } else if let relu1Gradient {
            try relu1Gradient(output: hidden, diffHidden, diffHidden)
        }
        for (index, part) in firstParts.enumerated() where index < diffInputs.count {
            try part.loadBackwardDataWeights(block.conv1.weight.value, view: try firstView(index))
            try part.backwardData(diffHidden, diffInputs[index])
        }
        for (part, source) in zip(firstParts, sources) { try part.backwardWeights(source, diffHidden) }
        let alignment = firstParts.map(\.weightGradientAlignment).reduce(1) { a, b in a * b / greatestCommonDivisor(a, b) }
        try sink.deliver(block.conv1.weight, alignment: alignment) { rows, base in
            for (index, part) in firstParts.enumerated() {
                try part.storeWeightGradient(rows: rows, into: base, view: try firstView(index, rows: rows.count))
            }
        }
        if let bias = block.conv1.bias, let diffBias = firstParts[0].diffBias { try sink.deliver(bias, copying: diffBias) }
    }
}

private func greatestCommonDivisor(_ a: Int, _ b: Int) -> Int { b == 0 ? a : greatestCommonDivisor(b, a % b) }
