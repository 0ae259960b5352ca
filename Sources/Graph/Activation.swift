/// An elementwise activation fused into the op before it (a convolution's or a normalization's post-op).
public enum Activation: Hashable, Sendable {
    /// `max(x, 0)`.
    case relu
    /// `x` where positive, `slope·x` elsewhere (`torch.nn.LeakyReLU(negative_slope)`).
    case leakyReLU(slope: Float)
    /// `x · sigmoid(x)` (`torch.nn.SiLU`); fused in inference only, its backward reading the input.
    case silu
    /// `min(max(x, 0), 6)` (`torch.nn.ReLU6`); its backward reads the output (zero where it is 0 or 6).
    case relu6

    /// The activation `op` applies (nil for any other op).
    public init?(_ op: Op) {
        switch op {
        case .relu: self = .relu
        case .leakyReLU(let slope): self = .leakyReLU(slope: slope)
        case .silu: self = .silu
        case .relu6: self = .relu6
        default: return nil
        }
    }
}
