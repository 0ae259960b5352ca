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
/// oneDNN primitive, or, without BN, ReLU stays a post-op whose gradient is computed from its output.
final class DoubleConvStep {
    struct Input {
        let shape: [Int]
        /// The input channels of the PyTorch weight this input multiplies.
        let channels: Range<Int>
    }

    let block: DoubleConv
    let inputs: [Input]
    let training: Bool
    let firstParts: [ConvolutionStep]
    let second: ConvolutionStep
    let norm1, norm2: BatchNormReLUStep?
    let relu1Gradient, relu2Gradient: ReLUGradientStep?
    /// Output of the first convolution before BN (training with BN only).
    let preNorm1, preNorm2: Memory?
    /// Input of the second convolution.
    let hidden: Memory
    /// The block's output.
    let output: Memory
    /// Gradients (training): of the output (filled by the caller), internal ones, and one per input.
    let diffOutput, diffHidden, diffPreNorm1, diffPreNorm2: Memory?
    let diffInputs: [Memory]

    var outputShape: [Int] { second.outputShape }

    init(block: DoubleConv, inputs: [Input], precision: Precision, training: Bool, inputGradient: Bool,
         sourceFormat: FormatTag = .aBcd16b) throws {
        self.block = block
        self.inputs = inputs
        self.training = training
        let padding = block.conv1.padding
        let middle = block.conv1.weight.value.shape[0]
        let normalized = block.norm1 != nil
        var parts: [ConvolutionStep] = []
        for (index, input) in inputs.enumerated() {
            let last = index == inputs.count - 1
            parts.append(try ConvolutionStep(.init(
                inputShape: input.shape, outputChannels: middle, kernelSize: 3, padding: padding, precision: precision,
                training: training, inputGradient: inputGradient, bias: index == 0 && (block.conv1.bias != nil || (normalized && !training)),
                accumulate: index > 0, relu: last && !(training && normalized), sourceFormat: sourceFormat)))
        }
        firstParts = parts
        let hiddenShape = parts[0].outputShape
        second = try ConvolutionStep(.init(
            inputShape: hiddenShape, outputChannels: block.conv2.weight.value.shape[0], kernelSize: 3, padding: padding,
            precision: precision, training: training, inputGradient: true,
            bias: block.conv2.bias != nil || (normalized && !training), relu: !(training && normalized)))
        let hiddenDescriptor = parts[0].destination
        let outputDescriptor = second.destination
        hidden = try Memory(hiddenDescriptor)
        output = try Memory(outputDescriptor)
        if training && normalized {
            norm1 = try BatchNormReLUStep(shape: hiddenShape, data: hiddenDescriptor)
            norm2 = try BatchNormReLUStep(shape: second.outputShape, data: outputDescriptor)
            (preNorm1, preNorm2) = (try Memory(hiddenDescriptor), try Memory(outputDescriptor))
            (diffPreNorm1, diffPreNorm2) = (try Memory(hiddenDescriptor), try Memory(outputDescriptor))
            (relu1Gradient, relu2Gradient) = (nil, nil)
        } else {
            (norm1, norm2, preNorm1, preNorm2, diffPreNorm1, diffPreNorm2) = (nil, nil, nil, nil, nil, nil)
            relu1Gradient = training ? try ReLUGradientStep(data: hiddenDescriptor) : nil
            relu2Gradient = training ? try ReLUGradientStep(data: outputDescriptor) : nil
        }
        if training {
            diffOutput = try Memory(outputDescriptor)
            diffHidden = try Memory(hiddenDescriptor)
            diffInputs = inputGradient ? try parts.map { try Memory($0.source) } : []
        } else {
            (diffOutput, diffHidden) = (nil, nil)
            diffInputs = []
        }
    }

    // MARK: - Parameters

    /// Copies the block's weights in (folding batch norm for inference).
    func loadParameters() throws {
        let (w1, b1) = try effectiveWeights(block.conv1, block.norm1)
        for (part, input) in zip(firstParts, inputs) {
            try part.loadWeights(w1, view: try .inputChannels(input.channels, ofWeight: w1.shape),
                                 bias: part === firstParts[0] ? b1 : nil)
        }
        let (w2, b2) = try effectiveWeights(block.conv2, block.norm2)
        try second.loadWeights(w2, view: try .whole(w2.shape), bias: b2)
        if let norm1, let n = block.norm1 { try norm1.loadParameters(n) }
        if let norm2, let n = block.norm2 { try norm2.loadParameters(n) }
    }

    /// The convolution's weight and bias, with eval-mode batch norm folded in when not training.
    private func effectiveWeights(_ conv: Conv2d, _ norm: BatchNorm2d?) throws -> (Tensor, Tensor?) {
        guard !training, let norm else { return (conv.weight.value, conv.bias?.value) }
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

    // MARK: - Execution

    /// Runs the block on `sources` (one memory per input, in `inputs` order) into `output`.
    func forward(_ sources: [Memory]) throws {
        let firstOutput = preNorm1 ?? hidden
        for (part, source) in zip(firstParts, sources) { try part.forward(source, firstOutput) }
        if let norm1, let preNorm1 {
            try norm1.forward(preNorm1, hidden)
            try norm1.updateRunningStatistics(block.norm1!)
        }
        try second.forward(hidden, preNorm2 ?? output)
        if let norm2, let preNorm2 {
            try norm2.forward(preNorm2, output)
            try norm2.updateRunningStatistics(block.norm2!)
        }
    }

    /// Back-propagates `diffOutput` (filled by the caller): input gradients into `diffInputs`, parameter
    /// gradients into the block's `.grad`.
    func backward(_ sources: [Memory]) throws {
        guard let diffOutput, let diffHidden else { return }
        var diffSecond = diffOutput
        if let norm2, let preNorm2, let diffPreNorm2 {
            try norm2.backward(preNorm2, diffOutput, diffPreNorm2)
            try norm2.storeGradients(block.norm2!)
            diffSecond = diffPreNorm2
        } else if let relu2Gradient {
            try relu2Gradient(output: output, diffOutput, diffOutput)
        }
        try second.backwardData(diffSecond, diffHidden)
        try second.backwardWeights(hidden, diffSecond)
        var biasGradient: Tensor? = block.conv2.bias?.grad
        try second.storeGradients(weight: &block.conv2.weight.grad, view: try .whole(block.conv2.weight.value.shape),
                                  bias: &biasGradient)
        if let biasGradient { block.conv2.bias?.grad = biasGradient }

        var diffFirst = diffHidden
        if let norm1, let preNorm1, let diffPreNorm1 {
            try norm1.backward(preNorm1, diffHidden, diffPreNorm1)
            try norm1.storeGradients(block.norm1!)
            diffFirst = diffPreNorm1
        } else if let relu1Gradient {
            try relu1Gradient(output: hidden, diffHidden, diffHidden)
        }
        let shape = block.conv1.weight.value.shape
        for (index, (part, source)) in zip(firstParts, sources).enumerated() {
            if index < diffInputs.count { try part.backwardData(diffFirst, diffInputs[index]) }
            try part.backwardWeights(source, diffFirst)
            var partBias: Tensor? = index == 0 ? block.conv1.bias?.grad : nil
            try part.storeGradients(weight: &block.conv1.weight.grad, view: try .inputChannels(inputs[index].channels, ofWeight: shape),
                                    bias: &partBias)
            if index == 0, let partBias { block.conv1.bias?.grad = partBias }
        }
    }
}
