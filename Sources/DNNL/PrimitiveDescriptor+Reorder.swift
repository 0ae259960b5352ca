import CDNNL

extension PrimitiveDescriptor {
    /// Copies memory from one layout (or element type) to another (`dnnl_reorder`).
    public static func reorder(source: MemoryDescriptor, destination: MemoryDescriptor,
                               attributes: PrimitiveAttributes? = nil) throws(DNNLError) -> PrimitiveDescriptor {
        var pd: dnnl_primitive_desc_t?
        var (src, dst) = (source.raw, destination.raw)
        let engine = try Engine.cpu().handle
        let attributes = if let attributes { attributes } else { try PrimitiveAttributes() }
        try check(Engine.exclusively { dnnl_reorder_primitive_desc_create(&pd, &src, engine, &dst, engine, attributes.handle) },
                  "dnnl_reorder_primitive_desc_create \(source.dims)")
        return PrimitiveDescriptor(handle: pd!, operation: "reorder")
    }

    /// Concatenates `sources` along `axis`; `destination` nil lets oneDNN choose its layout.
    public static func concat(sources: [MemoryDescriptor], axis: Int, destination: MemoryDescriptor? = nil)
        throws(DNNLError) -> PrimitiveDescriptor
    {
        var pd: dnnl_primitive_desc_t?
        let raws = sources.map(\.raw)
        var dst = destination?.raw ?? dnnl_memory_desc_t()
        let engine = try Engine.cpu().handle
        let attributes = try PrimitiveAttributes()
        let status = withOptional(destination != nil, &dst) { dstPointer in
            raws.withUnsafeBufferPointer { buffer in
                Engine.exclusively {
                    dnnl_concat_primitive_desc_create(&pd, dstPointer, Int32(buffer.count), Int32(axis), buffer.baseAddress,
                                                      attributes.handle, engine)
                }
            }
        }
        try check(status, "dnnl_concat_primitive_desc_create \(sources.map(\.dims)) axis \(axis)")
        return PrimitiveDescriptor(handle: pd!, operation: "concat")
    }

    /// Weighted sum `dst = Σ scales[i] · sources[i]` of equally shaped memories (`dnnl_sum`).
    public static func sum(scales: [Float], sources: [MemoryDescriptor], destination: MemoryDescriptor)
        throws(DNNLError) -> PrimitiveDescriptor
    {
        var pd: dnnl_primitive_desc_t?
        let raws = sources.map(\.raw)
        var dst = destination.raw
        let engine = try Engine.cpu().handle
        let attributes = try PrimitiveAttributes()
        let status = raws.withUnsafeBufferPointer { buffer in
            Engine.exclusively {
                dnnl_sum_primitive_desc_create(&pd, &dst, Int32(buffer.count), scales, buffer.baseAddress, attributes.handle, engine)
            }
        }
        try check(status, "dnnl_sum_primitive_desc_create \(destination.dims)")
        return PrimitiveDescriptor(handle: pd!, operation: "sum")
    }
}
