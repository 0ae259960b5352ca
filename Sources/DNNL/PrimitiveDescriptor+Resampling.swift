import CDNNL

extension PrimitiveDescriptor {
    /// Nearest-neighbour resampling forward, the factors read from the two descriptors' spatial sizes. oneDNN takes
    /// `ih = round((oh + 0.5) · IH / OH − 0.5)`, which is PyTorch's `floor(oh · IH / OH)` when `OH` is a multiple
    /// of `IH` (and the same for widths); callers use it only then.
    public static func nearestResamplingForward(
        training: Bool, source: MemoryDescriptor, destination: MemoryDescriptor, attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_resampling_desc_t()
        var (src, dst) = (source.raw, destination.raw)
        try check(
            dnnl_resampling_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, dnnl_resampling_nearest, nil, &src, &dst),
            "dnnl_resampling_forward_desc_init src \(source.dims) dst \(destination.dims)")
        return try create(desc, operation: "resampling forward", attributes: attributes)
    }

    /// Nearest-neighbour resampling backward: each input pixel's gradient is the sum of the gradients of the output
    /// pixels it was copied to.
    public static func nearestResamplingBackward(
        diffSource: MemoryDescriptor, diffDestination: MemoryDescriptor, hint: PrimitiveDescriptor,
        attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_resampling_desc_t()
        var (dsrc, ddst) = (diffSource.raw, diffDestination.raw)
        try check(
            dnnl_resampling_backward_desc_init(&desc, dnnl_resampling_nearest, nil, &dsrc, &ddst),
            "dnnl_resampling_backward_desc_init diff_dst \(diffDestination.dims)")
        return try create(desc, operation: "resampling backward", attributes: attributes, hint: hint)
    }
}
