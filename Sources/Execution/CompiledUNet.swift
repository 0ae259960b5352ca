import DNNL
import Models
import NN
import Tensors

/// A `UNet` compiled for one input shape: the fast path for training and prediction.
///
/// Built once per input shape, precision and mode (inference or training); reuse it for every batch of that
/// shape. It reads the model's parameters at build time and, for training, before every forward, so the
/// model stays the authority: optimizers update `Parameter.value`, checkpoints save the model.
///
///     let compiled = try CompiledUNet(model, inputShape: [4, 1, 256, 256], training: true)
///     let logits = try compiled.forward(x)           // train-mode BN: updates the running statistics
///     try compiled.backward(dLogits)                 // sets every parameter's .grad
///     try optimizer.step { try compiled.backward(dLogits, applying: $0) }  // or: update as gradients come
///
/// Inference uses eval-mode batch norm (folded into the convolutions); call `loadParameters()` after
/// changing the model's weights.
public final class CompiledUNet {
    public let model: UNet
    public let precision: Precision
    public let training: Bool
    /// `(N, C_in, H, W)`.
    public var inputShape: [Int] { plan.inputShape }
    /// Whether backward runs each block's first convolution and each up-sampling again (see `init`).
    public var recomputesConvolutions: Bool { plan.recomputesConvolutions }
    /// `(N, classes, H', W')`.
    public var outputShape: [Int] { plan.outputShape }
    /// The precision each level runs in, from the top: `precision` everywhere, except that a bf16 network runs
    /// deeper levels in fp32 where oneDNN's fp32 Winograd convolutions are faster than its bf16 ones.
    public var levelPrecisions: [Precision] { plan.levelPrecisions }
    private let plan: UNetPlan

    /// - Parameters:
    ///   - retainModelWeights: for inference, false moves the weights into the compiled network: each
    ///     layer's plain tensors are released once its compiled copy exists, so the model's weights are held
    ///     once instead of twice. The model is then empty (its parameters have no elements) and must not be used
    ///     again; this network cannot `loadParameters()`. For a predictor that loaded the model only to run it.
    ///   - recomputesConvolutions: for training, backward runs each block's first convolution (with batch
    ///     norm) and each up-sampling again instead of keeping their outputs: about 15% more time for a step,
    ///     for about 12% less peak memory (a base-64 U-Net with Adam). nil (the default): float32 does; bf16,
    ///     whose maps take half the memory, does not.
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take, `UNetError.unsupported` for bf16 on a
    ///   CPU without bf16 kernels (`CPUISA.supportsBF16`), `DNNLError` if oneDNN refuses.
    public init(_ model: UNet, inputShape: [Int], precision: Precision = .fp32, training: Bool,
                retainModelWeights: Bool = true, recomputesConvolutions: Bool? = nil) throws {
        if precision == .bf16, let reason = CPUISA.bf16Unsupported { throw UNetError.unsupported("bf16: \(reason)") }
        self.model = model
        self.precision = precision
        self.training = training
        if inputShape.count == 4 {
            try model.configuration.checkMemory(batch: inputShape[0], height: inputShape[2], width: inputShape[3], training: training)
        }
        plan = try UNetPlan(model: model, inputShape: inputShape, precision: precision, training: training,
                            recomputesConvolutions: recomputesConvolutions ?? (precision == .fp32))
        try plan.loadParameters(releasingModelWeights: !training && !retainModelWeights)
        weightsReleased = !training && !retainModelWeights
    }

    private let weightsReleased: Bool

    /// Re-reads the model's parameters (inference: after changing weights; training does it every forward).
    public func loadParameters() throws {
        guard !weightsReleased else {
            throw UNetError.invalidInput("this compiled network took the model's weights; compile the model again")
        }
        try plan.loadParameters()
    }

    /// Logits for `x`, plain float32 in and out. In training mode batch norm uses batch statistics and
    /// updates the model's running statistics, as PyTorch's `model.train(); model(x)` does.
    public func forward(_ x: Tensor) throws -> Tensor {
        if training { try plan.loadParameters() }
        return try plan.forward(x)
    }

    /// Back-propagates the gradient of a loss with respect to the last forward's logits, *setting* (not
    /// accumulating) every trainable parameter's `.grad`. Training plans only.
    public func backward(_ dLogits: Tensor) throws {
        try plan.backward(dLogits, gradients: GradientSink())
    }

    /// Back-propagates like `backward(_:)` but hands each parameter's gradient (plain float32, the parameter's
    /// row-major order) to `apply` as soon as it is complete, in pieces of whole rows (the first dimension):
    /// `apply(parameter, range, gradient)` gets elements `range` of it. No `.grad` is stored, so an optimizer
    /// step fused into backward (`Optimizer.step(_:)`) never holds the gradients at once, and the buffer they
    /// pass through is about `gradientPieceLimit` floats, not the largest parameter. The buffer is valid only
    /// during the call; each element is handed over once, after its parameter's last use in backward.
    public func backward(_ dLogits: Tensor, applying apply: (Parameter, Range<Int>, UnsafeBufferPointer<Float>) throws -> Void) throws {
        let limit = gradientPieceLimit
        if gradientScratch?.limit != limit {
            let elements = GradientSink.scratchElements(for: model.trainableParameters, pieceLimit: limit)
            gradientScratch = (limit, try Memory(MemoryDescriptor(dims: [elements], format: .a)))
        }
        try withoutActuallyEscaping(apply) { apply in
            try plan.backward(dLogits, gradients: GradientSink(consumer: apply, scratch: gradientScratch!.memory, pieceLimit: limit))
        }
    }

    /// The most floats `backward(_:applying:)` hands over at once, where a parameter's rows allow it (a piece
    /// is whole rows, aligned to the weight-gradient layout's blocks of up to 64 rows). 1 Mi floats (4 MB) by
    /// default: large enough that pieces cost nothing, small beside the largest U-Net weights (37 MB).
    public var gradientPieceLimit = 1 << 20

    /// The buffer `backward(_:applying:)` hands gradients over in, made on first use, and the limit it was made for.
    private var gradientScratch: (limit: Int, memory: Memory)?

    /// The seconds a forward pass would take if it were nothing but its convolutions: each convolution of the
    /// network (3x3, the 1x1 up-convolutions, the head) timed alone, medians summed. The ceiling that the whole
    /// forward pass is measured against.
    public func convolutionSeconds(repetitions: Int = 5) throws -> Double {
        var steps = (plan.encoders + plan.decoders).flatMap { $0.firstParts + [$0.second] } + [plan.head]
        for upsampler in plan.upsamplers {
            if case .transposed(let step, _) = upsampler { steps.append(step.convolution) }
        }
        return try steps.reduce(0) { $0 + (try $1.timeForward(repetitions: repetitions)) }
    }

    /// Bytes of each shared storage slot (activations, staged weights, gradients, scratchpad), for reports.
    public var sharedMemory: [(slot: String, bytes: Int)] { plan.sharedMemory }

    /// oneDNN's implementation of each convolution, for reports (`jit_wino_4x3:avx512_core`, ...).
    public var convolutionImplementations: [String] {
        (plan.encoders + plan.decoders).flatMap { $0.firstParts.map(\.implementation) + [$0.second.implementation] }
            + [plan.head.implementation]
    }
}
