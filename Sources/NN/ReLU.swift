import Kernels
import Tensors

/// `max(x, 0)`, elementwise. Mirrors `torch.nn.ReLU` (https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html).
public final class ReLU: Module {
    public var isTraining = true

    public init() {}

    public func callAsFunction(_ x: Tensor) throws -> Tensor {
        try reluForward(x)
    }

    public func forward(_ x: Tensor) throws -> (Tensor, Pullback) {
        (try self(x), { dy in try reluBackward(dy, input: x) })
    }
}
