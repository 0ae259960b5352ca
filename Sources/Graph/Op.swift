/// What a node computes. The first group mirrors PyTorch's modules and functions; the last ops are made only
/// by passes.
public enum Op: Hashable, Sendable {
    /// `torch.nn.Conv2d`.
    case conv2d(Conv2dAttributes)
    /// `torch.nn.ConvTranspose2d`.
    case convTranspose2d(ConvTranspose2dAttributes)
    /// `torch.nn.BatchNorm2d`.
    case batchNorm(BatchNormAttributes)
    /// `torch.nn.InstanceNorm2d`.
    case instanceNorm(InstanceNormAttributes)
    /// `torch.nn.ReLU`.
    case relu
    /// `torch.nn.LeakyReLU(negative_slope)`.
    case leakyReLU(slope: Float)
    /// `torch.nn.SiLU`: `x · sigmoid(x)` (EfficientNet's swish).
    case silu
    /// `torch.nn.ReLU6`: `min(max(x, 0), 6)` (MobileNetV2's activation).
    case relu6
    /// `torch.nn.PReLU`: a learned slope per channel (`weight`, `(C)`, or `(1)` shared by all channels).
    case prelu(weight: String)
    /// `torch.nn.MaxPool2d`.
    case maxPool(PoolAttributes)
    /// `torch.nn.AvgPool2d`.
    case avgPool(PoolAttributes)
    /// `torch.nn.AdaptiveAvgPool2d(1)`: each channel's mean, `(N, C, H, W)` → `(N, C, 1, 1)`.
    case globalAvgPool
    /// `torch.nn.functional.interpolate`.
    case upsample(UpsampleAttributes)
    /// `torch.nn.functional.pad`.
    case pad(PadAttributes)
    /// torchvision's `center_crop` to `[height, width]` (no larger than the input).
    case centerCrop(height: Int, width: Int)
    /// `torch.cat(dim=1)` of every input.
    case concat
    /// The sum of the two inputs (residual connections).
    case add
    /// `torch.mul` of a map `(N, C, H, W)` by a gate that broadcasts over it: `(N, C, 1, 1)` (a weight per channel),
    /// `(N, 1, H, W)` (a weight per pixel) or `(N, C, H, W)`. The gate is the second input.
    case multiply
    /// `torch.nn.Dropout(rate)` (`perSample` false: each value zeroed with probability `rate`) or timm's `DropPath(rate)`
    /// (`perSample`: each image's whole map, stochastic depth), the values kept scaled by `1 / (1 − rate)`; in training
    /// only: an inference network has none (`Graph.removingDropout`). `0 ≤ rate < 1`.
    case dropout(rate: Float, perSample: Bool)
    /// `torch.sigmoid`: a one-class head.
    case sigmoid
    /// `torch.softmax(dim=1)`: a multi-class head.
    case softmax
    /// Made by a pass: `(N, k²·C, H, W)` → `(N, C, k·H, k·W)`, channel `(k·p + q)·C + o` to pixel `(k·i + p, k·j + q)`
    /// of channel `o` (a transposed convolution's 1x1 convolution put in place).
    case depthToSpace(block: Int)
    /// Made by a pass: `k²` maps `(N, C, H, W)` → `(N, C, k·H, k·W)`, input `k·p + q` to the pixels `(k·i + p, k·j + q)`
    /// (a transposed convolution's phase convolutions put in place).
    case interleave(block: Int)
    /// Made by a pass: the same values in another precision (where a region of another precision begins).
    case convert(to: Precision)
    /// Made by a pass: `activation(x · g + r)` of inputs `[x, r, g]`, the gate `g` `(N, C, 1, 1)` broadcast over the
    /// maps `x` and `r` `(N, C, H, W)`: a squeeze-and-excitation block's gate and residual addition in one pass.
    case gatedResidual(activation: Activation?)

    /// The op's name, as PyTorch's functional API would say it.
    public var name: String {
        switch self {
        case .conv2d(let a):
            "conv2d" + (a.foldedNorm != nil ? "+bn" : "") + (a.activation.map { "+\(Self.name(of: $0))" } ?? "")
                + (a.accumulates ? "+sum" : "")
        case .convTranspose2d: "conv_transpose2d"
        case .batchNorm(let a): "batch_norm" + (a.activation.map { "+\(Self.name(of: $0))" } ?? "")
        case .instanceNorm: "instance_norm"
        case .relu: "relu"
        case .leakyReLU: "leaky_relu"
        case .silu: "silu"
        case .relu6: "relu6"
        case .prelu: "prelu"
        case .maxPool: "max_pool2d"
        case .avgPool: "avg_pool2d"
        case .globalAvgPool: "adaptive_avg_pool2d"
        case .upsample(let a):
            switch a.mode {
            case .nearest: "upsample_nearest"
            case .bilinear(let aligned): aligned ? "upsample_bilinear(align_corners)" : "upsample_bilinear"
            }
        case .pad: "pad"
        case .centerCrop: "center_crop"
        case .concat: "cat"
        case .add: "add"
        case .multiply: "mul"
        case .dropout(_, let perSample): perSample ? "drop_path" : "dropout"
        case .sigmoid: "sigmoid"
        case .softmax: "softmax"
        case .depthToSpace: "depth_to_space"
        case .interleave: "interleave"
        case .convert(let precision): "to_\(precision.rawValue)"
        case .gatedResidual(let activation): "mul+add" + (activation.map { "+\(Self.name(of: $0))" } ?? "")
        }
    }

    private static func name(of activation: Activation) -> String {
        switch activation {
        case .relu: "relu"
        case .leakyReLU: "leaky_relu"
        case .silu: "silu"
        case .relu6: "relu6"
        }
    }

    /// The parameter keys the op reads (weights, biases, normalization tensors), in `state_dict` order.
    public var parameterKeys: [String] {
        switch self {
        case .conv2d(let a):
            var keys = [a.weight] + (a.bias.map { [$0] } ?? [])
            if let n = a.foldedNorm { keys += [n.weight, n.bias, n.runningMean, n.runningVar] }
            return keys
        case .convTranspose2d(let a): return [a.weight] + (a.bias.map { [$0] } ?? [])
        case .batchNorm(let a): return [a.weight, a.bias, a.runningMean, a.runningVar, a.numBatchesTracked]
        case .instanceNorm(let a): return a.affinePrefix.map { [$0 + "weight", $0 + "bias"] } ?? []
        case .prelu(let weight): return [weight]
        default: return []
        }
    }

    /// The number of inputs the op takes (nil: any number, at least one).
    var arity: Int? {
        switch self {
        case .conv2d(let a): a.accumulates ? 2 : 1
        case .add, .multiply: 2
        case .gatedResidual: 3
        case .interleave(let k): k * k
        case .concat: nil
        default: 1
        }
    }

    /// The output shape for inputs of `shapes`, or why there is none.
    func outputShape(_ shapes: [[Int]]) -> Result<[Int], ShapeError> {
        if let arity, shapes.count != arity { return .failure("takes \(arity) inputs, got \(shapes.count)") }
        guard !shapes.isEmpty, shapes.allSatisfy({ $0.count == 4 && $0.allSatisfy { $0 >= 1 } }) else {
            return .failure("takes (N, C, H, W) inputs, got \(shapes)")
        }
        let x = shapes[0]
        switch self {
        case .conv2d(let a):
            let result = a.outputShape(x)
            if a.accumulates, case .success(let shape) = result, shapes[1] != shape {
                return .failure("adds into a partial sum of \(shapes[1]), not its output \(shape)")
            }
            return result
        case .convTranspose2d(let a):
            return a.outputShape(x)
        case .batchNorm, .instanceNorm, .relu, .leakyReLU, .silu, .relu6, .prelu, .sigmoid, .softmax, .convert:
            return .success(x)
        case .dropout(let rate, _):
            guard rate >= 0, rate < 1 else { return .failure("rate \(rate) is not in [0, 1)") }
            return .success(x)
        case .maxPool(let a), .avgPool(let a):
            guard let h = a.outputLength(x[2], axis: 0), let w = a.outputLength(x[3], axis: 1) else {
                return .failure("a \(a.kernel[0])x\(a.kernel[1]) window (stride \(a.stride), padding \(a.padding)) does not fit \(x[2])x\(x[3])")
            }
            return .success([x[0], x[1], h, w])
        case .globalAvgPool:
            return .success([x[0], x[1], 1, 1])
        case .upsample(let a):
            guard a.size.count == 2, a.size.allSatisfy({ $0 >= 1 }) else { return .failure("output size \(a.size)") }
            return .success([x[0], x[1]] + a.size)
        case .pad(let a):
            guard a.amounts.allSatisfy({ $0 >= 0 }) else { return .failure("negative padding \(a.amounts)") }
            if a.mode == .reflect, a.amounts[0] >= x[2] || a.amounts[1] >= x[2] || a.amounts[2] >= x[3] || a.amounts[3] >= x[3] {
                return .failure("reflect padding \(a.amounts) must be smaller than \(x[2])x\(x[3])")
            }
            return .success([x[0], x[1], x[2] + a.amounts[0] + a.amounts[1], x[3] + a.amounts[2] + a.amounts[3]])
        case .centerCrop(let height, let width):
            guard height >= 1, width >= 1, height <= x[2], width <= x[3] else {
                return .failure("cannot crop \(x[2])x\(x[3]) to \(height)x\(width)")
            }
            return .success([x[0], x[1], height, width])
        case .concat:
            guard shapes.allSatisfy({ $0[0] == x[0] && $0[2...] == x[2...] }) else {
                return .failure("concatenates maps of different sizes \(shapes)")
            }
            return .success([x[0], shapes.map { $0[1] }.reduce(0, +), x[2], x[3]])
        case .add:
            guard shapes[1] == x else { return .failure("adds \(x) and \(shapes[1])") }
            return .success(x)
        case .multiply:
            let g = shapes[1]
            guard g[0] == x[0], g[1] == x[1] || g[1] == 1, g[2...] == x[2...] || g[2...] == [1, 1] else {
                return .failure("multiplies \(x) by \(g), which does not broadcast over it")
            }
            return .success(x)
        case .gatedResidual:
            guard shapes[1] == x, shapes[2] == [x[0], x[1], 1, 1] else {
                return .failure("adds \(x) gated by \(shapes[2]) to \(shapes[1])")
            }
            return .success(x)
        case .depthToSpace(let k):
            guard k >= 1, x[1] % (k * k) == 0 else { return .failure("\(x[1]) channels do not split into \(k * k) positions") }
            return .success([x[0], x[1] / (k * k), k * x[2], k * x[3]])
        case .interleave(let k):
            guard shapes.allSatisfy({ $0 == x }) else { return .failure("interleaves maps of different shapes \(shapes)") }
            return .success([x[0], x[1], k * x[2], k * x[3]])
        }
    }
}
