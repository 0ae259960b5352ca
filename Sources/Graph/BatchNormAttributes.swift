/// Batch normalization over channels. Mirrors `torch.nn.BatchNorm2d`
/// (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html): in training it normalises with the batch's
/// mean and biased variance and updates `running_mean` and `running_var` (unbiased) with `momentum`; in eval mode it
/// uses the running statistics. `(N, C, H, W)` → same.
public struct BatchNormAttributes: Hashable, Sendable {
    /// `weight`, `bias`, `running_mean`, `running_var`, `num_batches_tracked` under this prefix (`inc.double_conv.1`).
    public var prefix: String
    public var epsilon: Float
    public var momentum: Float
    /// Applied to the result (a training pass fuses the following ReLU: oneDNN's `fuse_norm_relu`).
    public var activation: Activation?

    public init(prefix: String, epsilon: Float = 1e-5, momentum: Float = 0.1) {
        (self.prefix, self.epsilon, self.momentum) = (prefix, epsilon, momentum)
    }

    public var weight: String { prefix + "weight" }
    public var bias: String { prefix + "bias" }
    public var runningMean: String { prefix + "running_mean" }
    public var runningVar: String { prefix + "running_var" }
    public var numBatchesTracked: String { prefix + "num_batches_tracked" }
}
