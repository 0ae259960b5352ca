import CDNNL

/// An elementwise activation oneDNN computes.
public enum EltwiseAlgorithm: Sendable, Equatable {
    /// `max(x, 0)`.
    case relu
    /// `max(x, 0)` whose backward reads the forward output instead of the input.
    case reluUsingOutput
    /// `x` where positive, `slope·x` elsewhere (`slope ≥ 0`); backward reads the forward output.
    case leakyReLUUsingOutput(slope: Float)
    /// `1 / (1 + exp(-x))`; backward uses the forward output.
    case logistic
    /// `x / (1 + exp(-x))` (SiLU); backward reads the forward input.
    case swish
    /// `min(max(x, lower), upper)` (ReLU6: 0 and 6); backward reads the forward output and passes the gradient where
    /// it lies strictly between the bounds, as PyTorch's `hardtanh_backward` does.
    case clipUsingOutput(lower: Float, upper: Float)

    var raw: dnnl_alg_kind_t {
        switch self {
        case .relu: dnnl_eltwise_relu
        case .reluUsingOutput, .leakyReLUUsingOutput: dnnl_eltwise_relu_use_dst_for_bwd
        case .logistic: dnnl_eltwise_logistic_use_dst_for_bwd
        case .swish: dnnl_eltwise_swish
        case .clipUsingOutput: dnnl_eltwise_clip_v2_use_dst_for_bwd
        }
    }

    /// oneDNN's `alpha`: the negative slope, swish's scale of the sigmoid's argument (1), or clip's lower bound.
    var alpha: Float {
        switch self {
        case .leakyReLUUsingOutput(let slope): slope
        case .swish: 1
        case .clipUsingOutput(let lower, _): lower
        default: 0
        }
    }

    /// oneDNN's `beta`: clip's upper bound (unused by the others).
    var beta: Float {
        if case .clipUsingOutput(_, let upper) = self { return upper }
        return 0
    }

    /// Whether backward reads the forward input (else the forward output).
    public var backwardReadsInput: Bool { self == .relu || self == .swish }

    var name: String {
        switch self {
        case .logistic: "logistic"
        case .leakyReLUUsingOutput: "leaky_relu"
        case .swish: "swish"
        case .clipUsingOutput: "clip"
        default: "relu"
        }
    }
}

extension PrimitiveDescriptor {
    /// Elementwise activation forward.
    public static func eltwiseForward(_ algorithm: EltwiseAlgorithm, training: Bool, data: MemoryDescriptor,
                                      attributes: PrimitiveAttributes? = nil) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_eltwise_desc_t()
        var md = data.raw
        try check(
            dnnl_eltwise_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, algorithm.raw, &md, algorithm.alpha, algorithm.beta),
            "dnnl_eltwise_forward_desc_init (\(algorithm.name)) \(data.dims)")
        return try create(desc, operation: "\(algorithm.name) forward", attributes: attributes)
    }

    /// Elementwise activation backward. `data` is the forward input where `algorithm.backwardReadsInput`, else the
    /// forward output.
    public static func eltwiseBackward(
        _ algorithm: EltwiseAlgorithm, diffData: MemoryDescriptor, data: MemoryDescriptor, hint: PrimitiveDescriptor,
        attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_eltwise_desc_t()
        var (dmd, md) = (diffData.raw, data.raw)
        try check(
            dnnl_eltwise_backward_desc_init(&desc, algorithm.raw, &dmd, &md, algorithm.alpha, algorithm.beta),
            "dnnl_eltwise_backward_desc_init (\(algorithm.name)) \(data.dims)")
        return try create(desc, operation: "\(algorithm.name) backward", attributes: attributes, hint: hint)
    }
}
