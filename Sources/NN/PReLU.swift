import Tensors

/// PReLU's slope. Mirrors `torch.nn.PReLU` (https://pytorch.org/docs/stable/generated/torch.nn.PReLU.html): `weight`
/// `(num_parameters)`, one slope shared by every channel (1, PyTorch's default) or one per channel, initialised to
/// 0.25. The engine's PReLU kernel computes it: `max(0, x) + weight · min(0, x)`.
public final class PReLU: Module {
    public let weight: Parameter
    public var isTraining = true

    public var namedTensors: [(String, Parameter)] { [("weight", weight)] }

    public init(numParameters: Int = 1, initial: Float = 0.25) {
        weight = Parameter(Tensor(shape: [numParameters], repeating: initial))
    }
}
