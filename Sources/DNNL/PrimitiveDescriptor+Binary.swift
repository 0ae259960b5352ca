import CDNNL

extension PrimitiveDescriptor {
    /// Elementwise `dst = src0 + src1` (`dnnl_binary_add`); `dst` may be `src0` (in place).
    public static func binaryAdd(source0: MemoryDescriptor, source1: MemoryDescriptor, destination: MemoryDescriptor,
                                 attributes: PrimitiveAttributes? = nil) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_binary_desc_t()
        var (a, b, dst) = (source0.raw, source1.raw, destination.raw)
        try check(dnnl_binary_desc_init(&desc, dnnl_binary_add, &a, &b, &dst), "dnnl_binary_desc_init (add) \(source0.dims)")
        return try create(desc, operation: "binary add", attributes: attributes)
    }
}
