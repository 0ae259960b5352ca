/// Instance normalization: each channel of each image normalised by its own mean and biased variance, in training
/// and in eval mode (no running statistics). Mirrors `torch.nn.InstanceNorm2d`
/// (https://pytorch.org/docs/stable/generated/torch.nn.InstanceNorm2d.html) with `track_running_stats=False`, its
/// default; `affine` adds `weight` and `bias` `(C)`. `(N, C, H, W)` → same.
public struct InstanceNormAttributes: Hashable, Sendable {
    /// `weight` and `bias` under this prefix when affine; nil: not affine.
    public var affinePrefix: String?
    public var epsilon: Float
    /// Inference: applied to the result (a fused ReLU or leaky ReLU, oneDNN's eltwise post-op).
    public var activation: Activation?

    public init(affinePrefix: String?, epsilon: Float = 1e-5) {
        (self.affinePrefix, self.epsilon) = (affinePrefix, epsilon)
    }
}
