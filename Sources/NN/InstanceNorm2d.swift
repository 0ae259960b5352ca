import Tensors

/// Instance normalization's parameters. Mirrors `torch.nn.InstanceNorm2d`
/// (https://pytorch.org/docs/stable/generated/torch.nn.InstanceNorm2d.html) with `track_running_stats=False`: no
/// buffers; with `affine`, `weight` (ones) and `bias` (zeros), each `(C)`; without, no keys at all. The engine's
/// instance-norm kernel computes it (each channel of each image by its own mean and biased variance, in training and
/// eval mode alike).
public final class InstanceNorm2d: Module {
    public let weight: Parameter?
    public let bias: Parameter?
    public let epsilon: Float
    public var isTraining = true

    public var namedTensors: [(String, Parameter)] {
        guard let weight, let bias else { return [] }
        return [("weight", weight), ("bias", bias)]
    }

    public init(numFeatures: Int, affine: Bool, epsilon: Float = 1e-5) {
        weight = affine ? Parameter(Tensor(shape: [numFeatures], repeating: 1)) : nil
        bias = affine ? Parameter(Tensor(shape: [numFeatures])) : nil
        self.epsilon = epsilon
    }
}
