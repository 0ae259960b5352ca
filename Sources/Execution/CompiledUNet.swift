import DNNL
import Distributed
import Graph
import Models
import NN
import Tensors

/// A model (a classic `UNet`, an `SMPUNet`: any `SegmentationModel`) compiled for one input shape: the fast path for
/// training and prediction, its graph (`graph(inputShape:)`) run by a `CompiledNetwork`.
///
/// Built once per input shape, precision and mode (inference or training); reuse it for every batch of that
/// shape. It reads the model's parameters at build time and, for training, at every use, so the model stays the
/// authority: optimizers update `Parameter.value`, checkpoints save the model.
///
///     let compiled = try CompiledUNet(model, inputShape: [4, 1, 256, 256], training: true)
///     let logits = try compiled.forward(x)           // train-mode BN: updates the running statistics
///     try compiled.backward(dLogits)                 // sets every parameter's .grad
///     try optimizer.step { try compiled.backward(dLogits, applying: $0) }  // or: update as gradients come
///
/// Inference uses eval-mode batch norm (folded into the convolutions); call `loadParameters()` after changing the
/// model's weights.
public final class CompiledUNet {
    public let model: any SegmentationModel
    /// The compiled network: its graph after the passes, its memory plan.
    public let network: CompiledNetwork

    /// - Parameters:
    ///   - retainModelWeights: for inference, false moves the weights into the compiled network: the model's
    ///     tensors are released once the network holds its copies, so the weights are held once instead of twice.
    ///     The model is then empty and must not be used again; this network cannot `loadParameters()`. For a
    ///     predictor that loaded the model only to run it.
    ///   - recomputesConvolutions, synchronizedBatchNorm: for training, see `CompiledNetwork.init`.
    ///   - deepSupervision: for training, the model's `deepSupervisionGraph`: forward also makes the lower-resolution
    ///     heads' logits (`auxiliaryOutputs`), and backward takes their gradients.
    ///   - addedHeads: with `deepSupervision`, for a classic `UNet` (which has no lower-resolution heads of its own): the
    ///     heads it trains with; backward sets their gradients too.
    ///   - passes: the engine's passes (all by default; none gives the reference).
    ///   - quantization, observingConvolutionInputs: inference: int8 convolutions, or calibrating them (see
    ///     `CompiledNetwork.init`).
    ///   - randomSeed: training: the seed of dropout's masks (a model built with dropout).
    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take, `UNetError.unsupported` for bf16 on a CPU
    ///   without bf16 kernels (`CPUISA.supportsBF16`) or deep supervision of a model without its heads, `DNNLError` if
    ///   oneDNN refuses.
    public init(_ model: any SegmentationModel, inputShape: [Int], precision: Precision = .fp32, training: Bool, retainModelWeights: Bool = true,
                recomputesConvolutions: Bool? = nil, synchronizedBatchNorm: ProcessGroup? = nil, deepSupervision: Bool = false,
                addedHeads: UNetDeepSupervisionHeads? = nil,
                passes: Set<Pass> = Set(Pass.allCases),
                quantization: Quantization? = nil, observingConvolutionInputs: ConvolutionInputObserver? = nil,
                randomSeed: UInt64 = 0) throws {
        if precision == .bf16, let reason = CPUISA.bf16Unsupported { throw UNetError.unsupported("bf16: \(reason)") }
        self.model = model
        try model.checkInput(inputShape)
        try model.architecture.checkMemory(batch: inputShape[0], height: inputShape[2], width: inputShape[3], training: training)
        var parameters = model.namedParameters()
        let graph: Graph
        if deepSupervision, let addedHeads {
            guard let unet = model as? UNet else {
                throw UNetError.unsupported("deep supervision: heads made for a classic U-Net given with \(model.architecture)")
            }
            graph = try unet.deepSupervisionGraph(inputShape: inputShape, heads: addedHeads)
            parameters += addedHeads.namedParameters(prefix: UNetDeepSupervisionHeads.prefix)
        } else if deepSupervision {
            guard let supervised = try model.deepSupervisionGraph(inputShape: inputShape) else {
                throw UNetError.unsupported("deep supervision needs lower-resolution heads: nnU-Net's networks have them, a classic U-Net takes added ones")
            }
            graph = supervised
        } else {
            graph = try model.graph(inputShape: inputShape)
        }
        network = try CompiledNetwork(graph: graph, parameters: parameters, precision: precision,
                                      training: training, passes: passes, recomputesConvolutions: recomputesConvolutions,
                                      synchronizedBatchNorm: synchronizedBatchNorm, releasingModelWeights: !training && !retainModelWeights,
                                      quantization: quantization, observingConvolutionInputs: observingConvolutionInputs,
                                      randomSeed: randomSeed)
    }

    public var precision: Precision { network.precision }
    public var training: Bool { network.training }
    /// `(N, C_in, H, W)`.
    public var inputShape: [Int] { network.inputShape }
    /// `(N, classes, H', W')`.
    public var outputShape: [Int] { network.outputShape }
    /// Whether backward makes convolution outputs again instead of keeping them.
    public var recomputesConvolutions: Bool { network.recomputesConvolutions }
    /// The precision each level runs in, from the top: `precision` everywhere, except that a bf16 network runs deeper
    /// levels in fp32 where oneDNN's fp32 Winograd convolutions are faster than its bf16 ones.
    public var levelPrecisions: [Precision] { network.levelPrecisions }

    /// Re-reads the model's parameters (inference: after changing weights; training reads them at every use).
    public func loadParameters() throws { try network.loadParameters() }

    /// Whether a value compiled into the network has changed since (`CompiledNetwork.bakedParametersChanged`).
    public var bakedParametersChanged: Bool { network.bakedParametersChanged }

    /// Logits for `x`, plain float32 in and out. In training mode batch norm uses batch statistics and updates the
    /// model's running statistics, as PyTorch's `model.train(); model(x)` does.
    public func forward(_ x: Tensor) throws -> Tensor { try network.forward(x) }

    /// With deep supervision: the last forward's lower-resolution heads' logits, the largest first; else empty.
    public var auxiliaryOutputs: [Tensor] { network.auxiliaryOutputs }

    /// Back-propagates the gradient of a loss with respect to the last forward's logits (and with deep supervision,
    /// to each of `auxiliaryOutputs`), *setting* (not accumulating) every trainable parameter's `.grad`. Training
    /// networks only.
    public func backward(_ dLogits: Tensor, auxiliaryGradients: [Tensor] = []) throws {
        try network.backward(dLogits, auxiliaryGradients: auxiliaryGradients)
    }

    /// Back-propagates, handing each parameter's gradient to `apply` as soon as it is complete (see
    /// `CompiledNetwork.backward(_:auxiliaryGradients:applying:)`).
    public func backward(_ dLogits: Tensor, auxiliaryGradients: [Tensor] = [],
                         applying apply: (Parameter, Range<Int>, UnsafeBufferPointer<Float>) throws -> Void) throws {
        try network.backward(dLogits, auxiliaryGradients: auxiliaryGradients, applying: apply)
    }

    /// The most floats `backward(_:applying:)` hands over at once (see `CompiledNetwork.gradientPieceLimit`).
    public var gradientPieceLimit: Int {
        get { network.gradientPieceLimit }
        set { network.gradientPieceLimit = newValue }
    }

    /// The seconds a forward pass would take if it were nothing but its convolutions (see
    /// `CompiledNetwork.convolutionSeconds`).
    public func convolutionSeconds(repetitions: Int = 5) throws -> Double { try network.convolutionSeconds(repetitions: repetitions) }
}
