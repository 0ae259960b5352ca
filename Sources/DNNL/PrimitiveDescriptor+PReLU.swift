import CDNNL

extension PrimitiveDescriptor {
    /// PReLU forward: `x` where positive, `w·x` elsewhere, with `weights` broadcast over `data` (`(1, C, 1, 1)` for
    /// a slope per channel, `(1, 1, 1, 1)` for one shared slope).
    public static func preluForward(training: Bool, data: MemoryDescriptor, weights: MemoryDescriptor,
                                    attributes: PrimitiveAttributes? = nil) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_prelu_desc_t()
        var (md, wd) = (data.raw, weights.raw)
        try check(dnnl_prelu_forward_desc_init(&desc, training ? dnnl_forward_training : dnnl_forward_inference, &md, &wd),
                  "dnnl_prelu_forward_desc_init \(data.dims)")
        return try create(desc, operation: "prelu forward", attributes: attributes)
    }

    /// PReLU backward: the input gradient and the slopes' gradient (summed over what they were broadcast over).
    public static func preluBackward(data: MemoryDescriptor, weights: MemoryDescriptor, hint: PrimitiveDescriptor,
                                     attributes: PrimitiveAttributes? = nil) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_prelu_desc_t()
        var (md, wd, dmd, dwd) = (data.raw, weights.raw, data.raw, weights.raw)
        try check(dnnl_prelu_backward_desc_init(&desc, &md, &wd, &dmd, &dwd), "dnnl_prelu_backward_desc_init \(data.dims)")
        return try create(desc, operation: "prelu backward", attributes: attributes, hint: hint)
    }
}
