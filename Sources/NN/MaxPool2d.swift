import Kernels
import Tensors

/// 2-D max pooling without padding, floor mode. Mirrors `torch.nn.MaxPool2d(kernel_size, stride)`
/// (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html); `stride` defaults to `kernelSize`.
public final class MaxPool2d: Module {
    public let kernelSize: Int
    public let stride: Int
    public var isTraining = true

    public init(kernelSize: Int = 2, stride: Int? = nil) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
    }

    /// `(N, C, H, W)` → `(N, C, (H − k)/s + 1, (W − k)/s + 1)`.
    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try maxPool2dForward(x, kernelSize: kernelSize, stride: stride, training: false).0
    }

    /// The output and a pullback holding the max-position workspace.
    public func forward(_ x: Tensor) throws -> (Tensor, Pullback) {
        let (y, workspace) = try maxPool2dForward(x, kernelSize: kernelSize, stride: stride, training: true)
        return (y, { dy in try maxPool2dBackward(dy, workspace: workspace!) })
    }
}
