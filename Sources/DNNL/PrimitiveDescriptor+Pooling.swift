import CDNNL

extension PrimitiveDescriptor {
    /// Max pooling forward (`pooling_v2`, no dilation). In training mode it produces a workspace
    /// (`memoryDescriptor(.workspace)`) that backward needs.
    public static func maxPoolingForward(
        training: Bool, source: MemoryDescriptor, destination: MemoryDescriptor, kernel: [Int],
        geometry: SpatialGeometry, attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_pooling_v2_desc_t()
        var (src, dst) = (source.raw, destination.raw)
        let (s, l, r) = geometry.raw
        let k = kernel.map(Int64.init)
        let dilation = [Int64](repeating: 0, count: kernel.count)
        try check(
            dnnl_pooling_v2_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, dnnl_pooling_max,
                &src, &dst, s, k, dilation, l, r),
            "dnnl_pooling_v2_forward_desc_init src \(source.dims) dst \(destination.dims)")
        return try create(desc, operation: "max pooling forward", attributes: attributes)
    }

    /// Max pooling backward: routes each output gradient to the input position that won the max.
    public static func maxPoolingBackward(
        diffSource: MemoryDescriptor, diffDestination: MemoryDescriptor, kernel: [Int],
        geometry: SpatialGeometry, hint: PrimitiveDescriptor, attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_pooling_v2_desc_t()
        var (dsrc, ddst) = (diffSource.raw, diffDestination.raw)
        let (s, l, r) = geometry.raw
        let k = kernel.map(Int64.init)
        let dilation = [Int64](repeating: 0, count: kernel.count)
        try check(
            dnnl_pooling_v2_backward_desc_init(&desc, dnnl_pooling_max, &dsrc, &ddst, s, k, dilation, l, r),
            "dnnl_pooling_v2_backward_desc_init diff_dst \(diffDestination.dims)")
        return try create(desc, operation: "max pooling backward", attributes: attributes, hint: hint)
    }
}
