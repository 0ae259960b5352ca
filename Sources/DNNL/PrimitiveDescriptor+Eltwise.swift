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

    var raw: dnnl_alg_kind_t {
        switch self {
        case .relu: dnnl_eltwise_relu
        case .reluUsingOutput, .leakyReLUUsingOutput: dnnl_eltwise_relu_use_dst_for_bwd
        case .logistic: dnnl_eltwise_logistic_use_dst_for_bwd
        }
    }

    /// oneDNN's `alpha`: the negative slope.
    var alpha: Float {
        if case .leakyReLUUsingOutput(let slope) = self { return slope }
        return 0
    }

    var name: String {
        switch self {
        case .logistic: "logistic"
        case .leakyReLUUsingOutput: "leaky_relu"
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

    /// Elementwise activation backward. `data` is the forward input for ReLU and the forward output
    /// for the logistic function.
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
