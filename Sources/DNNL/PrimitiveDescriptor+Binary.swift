import CDNNL

extension PrimitiveDescriptor {
    /// Elementwise `dst = src0 + src1` (`dnnl_binary_add`); `dst` may be `src0` (in place).
    public static func binaryAdd(source0: MemoryDescriptor, source1: MemoryDescriptor, destination: MemoryDescriptor,
                                 attributes: PrimitiveAttributes? = nil) throws(DNNLError) -> PrimitiveDescriptor {
        try binary(dnnl_binary_add, "add", source0: source0, source1: source1, destination: destination, attributes: attributes)
    }

    /// Elementwise `dst = src0 · src1` (`dnnl_binary_mul`). `src1` may broadcast: each of its dimensions equals
    /// `src0`'s or is 1 (a gate of `(N, C, 1, 1)` or `(N, 1, H, W)` over `(N, C, H, W)`).
    public static func binaryMultiply(source0: MemoryDescriptor, source1: MemoryDescriptor, destination: MemoryDescriptor,
                                      attributes: PrimitiveAttributes? = nil) throws(DNNLError) -> PrimitiveDescriptor {
        try binary(dnnl_binary_mul, "mul", source0: source0, source1: source1, destination: destination, attributes: attributes)
    }

    private static func binary(_ algorithm: dnnl_alg_kind_t, _ name: String, source0: MemoryDescriptor, source1: MemoryDescriptor,
                               destination: MemoryDescriptor, attributes: PrimitiveAttributes?) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_binary_desc_t()
        var (a, b, dst) = (source0.raw, source1.raw, destination.raw)
        try check(dnnl_binary_desc_init(&desc, algorithm, &a, &b, &dst), "dnnl_binary_desc_init (\(name)) \(source0.dims) \(source1.dims)")
        return try create(desc, operation: "binary \(name)", attributes: attributes)
    }
}
