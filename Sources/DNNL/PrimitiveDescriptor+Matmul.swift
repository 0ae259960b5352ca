import CDNNL

extension PrimitiveDescriptor {
    /// Matrix product `dst = src · weights (+ bias)`, batched over leading dimensions, with broadcasting
    /// of batch dimensions of size 1 (`dnnl_matmul`).
    public static func matmul(
        source: MemoryDescriptor, weights: MemoryDescriptor, destination: MemoryDescriptor,
        attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_matmul_desc_t()
        var (src, wei, dst) = (source.raw, weights.raw, destination.raw)
        try check(dnnl_matmul_desc_init(&desc, &src, &wei, nil, &dst),
                  "dnnl_matmul_desc_init \(source.dims) x \(weights.dims)")
        return try create(desc, operation: "matmul", attributes: attributes)
    }
}
