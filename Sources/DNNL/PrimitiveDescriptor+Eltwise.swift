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

    var raw: dnnl_alg_kind_t {
        switch self {
        case .relu: dnnl_eltwise_relu
        case .reluUsingOutput, .leakyReLUUsingOutput: dnnl_eltwise_relu_use_dst_for_bwd
        case .logistic: dnnl_eltwise_logistic_use_dst_for_bwd
        case .swish: dnnl_eltwise_swish
        }
    }

    /// oneDNN's `alpha`: the negative slope, or swish's scale of the sigmoid's argument (1).
    var alpha: Float {
        switch self {
        case .leakyReLUUsingOutput(let slope): slope
        case .swish: 1
        default: 0
        }
    }

    /// Whether backward reads the forward input (else the forward output).
    public var backwardReadsInput: Bool { self == .relu || self == .swish }

    var name: String {
        switch self {
        case .logistic: "logistic"
        case .leakyReLUUsingOutput: "leaky_relu"
        case .swish: "swish"
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
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, algorithm.raw, &md, algorithm.alpha, 0),
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
            dnnl_eltwise_backward_desc_init(&desc, algorithm.raw, &dmd, &md, algorithm.alpha, 0),
            "dnnl_eltwise_backward_desc_init (\(algorithm.name)) \(data.dims)")
        return try create(desc, operation: "\(algorithm.name) backward", attributes: attributes, hint: hint)
    }
}
