import Models
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
///
/// Inference uses eval-mode batch norm (folded into the convolutions); call `loadParameters()` after
/// changing the model's weights.
public final class CompiledUNet {
    public let model: UNet
    public let precision: Precision
    public let training: Bool
    /// `(N, C_in, H, W)`.
    public var inputShape: [Int] { plan.inputShape }
    /// `(N, classes, H', W')`.
    public var outputShape: [Int] { plan.outputShape }
    private let plan: UNetPlan

    /// - Throws: `UNetError.invalidInput` for a shape the model cannot take, `DNNLError` if oneDNN refuses.
    public init(_ model: UNet, inputShape: [Int], precision: Precision = .fp32, training: Bool) throws {
        self.model = model
        self.precision = precision
        self.training = training
        plan = try UNetPlan(model: model, inputShape: inputShape, precision: precision, training: training)
        try plan.loadParameters()
    }

    /// Re-reads the model's parameters (inference: after changing weights; training does it every forward).
    public func loadParameters() throws {
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
        try plan.backward(dLogits)
    }

    /// oneDNN's implementation of each convolution, for reports (`jit_wino_4x3:avx512_core`, ...).
    public var convolutionImplementations: [String] {
        (plan.encoders + plan.decoders).flatMap { $0.firstParts.map(\.implementation) + [$0.second.implementation] }
            + [plan.head.implementation]
    }
}
