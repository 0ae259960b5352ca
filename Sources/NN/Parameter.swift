import Tensors

/// Maps dL/d(output) to dL/d(input), accumulating parameter gradients on the way.
public typealias Pullback = (Tensor) throws -> Tensor

/// A tensor owned by a module, with its accumulated gradient. Mirrors `torch.nn.Parameter` and its `.grad`;
/// buffers such as `running_mean` have `requiresGrad == false` and optimizers skip them.
public final class Parameter {
    /// The current value.
    public var value: Tensor
    /// The gradient accumulated by pullbacks since the last `zeroGrad()`; zeros of `value`'s shape until then.
    /// Allocated on first write, so a model used only for inference holds no gradient memory.
    public var grad: Tensor {
        get { storedGrad ?? Tensor(shape: value.shape) }
        set { storedGrad = newValue }
        _modify {
            if storedGrad == nil { storedGrad = Tensor(shape: value.shape) }
            yield &storedGrad!
        }
    }
    private var storedGrad: Tensor?
    /// False for buffers (running statistics, counters).
    public let requiresGrad: Bool
    /// True for integer buffers that PyTorch stores as int64 (`num_batches_tracked`).
    public let isInteger: Bool

    public init(_ value: Tensor, requiresGrad: Bool = true, isInteger: Bool = false) {
        self.value = value
        self.requiresGrad = requiresGrad
        self.isInteger = isInteger
    }

    /// Adds `gradient` to `grad`.
    /// - Throws: `TensorError` when its shape differs from the parameter's.
    public func accumulate(_ gradient: Tensor) throws {
        guard storedGrad != nil else {
            guard gradient.shape == value.shape else { throw TensorError.shapeMismatch("accumulate", gradient.shape, value.shape) }
            storedGrad = gradient
            return
        }
        try grad.add(gradient)
    }

    /// Resets `grad` to zeros, releasing its memory (PyTorch `zero_grad()`, `set_to_none=True`; reading
    /// `grad` afterwards gives zeros).
    public func zeroGrad() {
        storedGrad = nil
    }
}
