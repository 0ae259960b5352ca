import CDNNL

/// How a batch normalization primitive normalises and which parameters it uses.
public struct BatchNormalizationFlags: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// Normalise with given mean and variance (eval mode) instead of batch statistics.
    public static let useGlobalStatistics = BatchNormalizationFlags(rawValue: UInt32(dnnl_use_global_stats.rawValue))
    /// Multiply by a per-channel scale (PyTorch `weight`).
    public static let useScale = BatchNormalizationFlags(rawValue: UInt32(dnnl_use_scale.rawValue))
    /// Add a per-channel shift (PyTorch `bias`).
    public static let useShift = BatchNormalizationFlags(rawValue: UInt32(dnnl_use_shift.rawValue))
    /// Apply ReLU to the output (fused).
    public static let fuseReLU = BatchNormalizationFlags(rawValue: UInt32(dnnl_fuse_norm_relu.rawValue))
}

extension PrimitiveDescriptor {
    /// Batch normalization forward. In training mode without `.useGlobalStatistics` it computes and
    /// outputs the batch mean and (biased) variance.
    public static func batchNormalizationForward(
        training: Bool, data: MemoryDescriptor, epsilon: Float, flags: BatchNormalizationFlags,
        attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_batch_normalization_desc_t()
        var md = data.raw
        try check(
            dnnl_batch_normalization_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, &md, epsilon, flags.rawValue),
            "dnnl_batch_normalization_forward_desc_init data \(data.dims)")
        return try create(desc, operation: "batch normalization forward", attributes: attributes)
    }

    /// Batch normalization backward: gradients for the data and, with `.useScale`/`.useShift`, the
    /// scale and shift.
    public static func batchNormalizationBackward(
        diffData: MemoryDescriptor, data: MemoryDescriptor, epsilon: Float, flags: BatchNormalizationFlags,
        hint: PrimitiveDescriptor, attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_batch_normalization_desc_t()
        var (dmd, md) = (diffData.raw, data.raw)
        let prop = flags.isDisjoint(with: [.useScale, .useShift]) ? dnnl_backward_data : dnnl_backward
        try check(
            dnnl_batch_normalization_backward_desc_init(&desc, prop, &dmd, &md, epsilon, flags.rawValue),
            "dnnl_batch_normalization_backward_desc_init data \(data.dims)")
        return try create(desc, operation: "batch normalization backward", attributes: attributes, hint: hint)
    }
}
