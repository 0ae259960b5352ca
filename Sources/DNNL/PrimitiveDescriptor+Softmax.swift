import CDNNL

extension PrimitiveDescriptor {
    /// Softmax forward along `axis` (`softmax_v2`, accurate algorithm).
    public static func softmaxForward(training: Bool, source: MemoryDescriptor, destination: MemoryDescriptor, axis: Int)
        throws(DNNLError) -> PrimitiveDescriptor
    {
        var desc = dnnl_softmax_v2_desc_t()
        var (src, dst) = (source.raw, destination.raw)
        try check(
            dnnl_softmax_v2_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, dnnl_softmax_accurate,
                &src, &dst, Int32(axis)),
            "dnnl_softmax_v2_forward_desc_init \(source.dims) axis \(axis)")
        return try create(desc, operation: "softmax forward")
    }

    /// Softmax backward along `axis`, from the forward output `destination`.
    public static func softmaxBackward(
        diffSource: MemoryDescriptor, diffDestination: MemoryDescriptor, destination: MemoryDescriptor, axis: Int,
        hint: PrimitiveDescriptor
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_softmax_v2_desc_t()
        var (dsrc, ddst, dst) = (diffSource.raw, diffDestination.raw, destination.raw)
        try check(
            dnnl_softmax_v2_backward_desc_init(&desc, dnnl_softmax_accurate, &dsrc, &ddst, &dst, Int32(axis)),
            "dnnl_softmax_v2_backward_desc_init \(destination.dims) axis \(axis)")
        return try create(desc, operation: "softmax backward", hint: hint)
    }
}
