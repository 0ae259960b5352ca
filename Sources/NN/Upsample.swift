import Kernels
import Tensors

/// Bilinear up-sampling by an integer factor with aligned corners. Mirrors
/// `torch.nn.Upsample(scale_factor=scaleFactor, mode="bilinear", align_corners=True)`
/// (https://pytorch.org/docs/stable/generated/torch.nn.Upsample.html), milesial's `bilinear=True` path.
public final class Upsample: Module {
    public let scaleFactor: Int
    public var isTraining = true

    public init(scaleFactor: Int = 2) {
        self.scaleFactor = scaleFactor
    }

    /// `(N, C, H, W)` → `(N, C, s·H, s·W)`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try upsampleBilinear2dForward(x, scale: scaleFactor)
    }

    public func forward(_ x: Tensor) throws -> (Tensor, Pullback) {
        (try self(x), { dy in try upsampleBilinear2dBackward(dy, inputShape: x.shape, scale: self.scaleFactor) })
    }
}
