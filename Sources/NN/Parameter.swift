import Tensors

/// Maps dL/d(output) to dL/d(input), accumulating parameter gradients on the way.
public typealias Pullback = (Tensor) throws -> Tensor

/// A tensor owned by a module, with its accumulated gradient. Mirrors `torch.nn.Parameter` and its `.grad`;
/// buffers such as `running_mean` have `requiresGrad == false` and optimizers skip them.
public final class Parameter {
    /// The current value.
    public var value: Tensor
    /// The gradient accumulated by pullbacks since the last `zeroGrad()`; zeros of `value`'s shape.
    public var grad: Tensor
    /// False for buffers (running statistics, counters).
    public let requiresGrad: Bool
    /// True for integer buffers that PyTorch stores as int64 (`num_batches_tracked`).
    public let isInteger: Bool

    public init(_ value: Tensor, requiresGrad: Bool = true, isInteger: Bool = false) {
        self.value = value
        self.grad = Tensor(shape: requiresGrad ? value.shape : [0])
        self.requiresGrad = requiresGrad
        self.isInteger = isInteger
    }

    /// Adds `gradient` to `grad`.
    /// - Throws: `TensorError` when its shape differs from the parameter's.
    public func accumulate(_ gradient: Tensor) throws {
        try grad.add(gradient)
    }

    /// Resets `grad` to zeros (PyTorch `zero_grad(set_to_none=False)`).
    public func zeroGrad() {
        if requiresGrad { grad = Tensor(shape: value.shape) }
    }
}
