import CDNNL

extension PrimitiveDescriptor {
    /// The sum of `source` over every dimension where `destination` has extent 1 and `source` has more
    /// (`dnnl_reduction_sum`): `(N, C, H, W)` → `(N, C, 1, 1)` sums each channel's map, → `(N, 1, H, W)` each pixel's
    /// channels.
    public static func reductionSum(source: MemoryDescriptor, destination: MemoryDescriptor,
                                    attributes: PrimitiveAttributes? = nil) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_reduction_desc_t()
        var (src, dst) = (source.raw, destination.raw)
        try check(dnnl_reduction_desc_init(&desc, dnnl_reduction_sum, &src, &dst, 0, 0),
                  "dnnl_reduction_desc_init (sum) \(source.dims) → \(destination.dims)")
        return try create(desc, operation: "reduction sum", attributes: attributes)
    }
}
