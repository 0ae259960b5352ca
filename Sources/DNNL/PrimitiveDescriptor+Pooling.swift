import CDNNL

/// What a pooling window computes.
public enum PoolingAlgorithm: Sendable {
    case max
    /// The mean over the window, padded zeros counted (PyTorch's `count_include_pad=True`).
    case averageIncludingPadding
    /// The mean over the window's pixels inside the input.
    case averageExcludingPadding

    var raw: dnnl_alg_kind_t {
        switch self {
        case .max: dnnl_pooling_max
        case .averageIncludingPadding: dnnl_pooling_avg_include_padding
        case .averageExcludingPadding: dnnl_pooling_avg_exclude_padding
        }
    }
}

extension PrimitiveDescriptor {
    /// Max pooling forward (`pooling_v2`, no dilation). In training mode it produces a workspace
    /// (`memoryDescriptor(.workspace)`) that backward needs.
    public static func maxPoolingForward(
        training: Bool, source: MemoryDescriptor, destination: MemoryDescriptor, kernel: [Int],
        geometry: SpatialGeometry, attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        try poolingForward(.max, training: training, source: source, destination: destination, kernel: kernel,
                           geometry: geometry, attributes: attributes)
    }

    /// Max pooling backward: routes each output gradient to the input position that won the max.
    public static func maxPoolingBackward(
        diffSource: MemoryDescriptor, diffDestination: MemoryDescriptor, kernel: [Int],
        geometry: SpatialGeometry, hint: PrimitiveDescriptor, attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        try poolingBackward(.max, diffSource: diffSource, diffDestination: diffDestination, kernel: kernel,
                            geometry: geometry, hint: hint, attributes: attributes)
    }

    /// Pooling forward (`pooling_v2`, no dilation). Max pooling in training mode produces a workspace
    /// (`memoryDescriptor(.workspace)`) that backward needs.
    public static func poolingForward(
        _ algorithm: PoolingAlgorithm, training: Bool, source: MemoryDescriptor, destination: MemoryDescriptor,
        kernel: [Int], geometry: SpatialGeometry, attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_pooling_v2_desc_t()
        var (src, dst) = (source.raw, destination.raw)
        let (s, l, r) = geometry.raw
        let k = kernel.map(Int64.init)
        let dilation = [Int64](repeating: 0, count: kernel.count)
        try check(
            dnnl_pooling_v2_forward_desc_init(
                &desc, training ? dnnl_forward_training : dnnl_forward_inference, algorithm.raw,
                &src, &dst, s, k, dilation, l, r),
            "dnnl_pooling_v2_forward_desc_init src \(source.dims) dst \(destination.dims)")
        return try create(desc, operation: "pooling forward", attributes: attributes)
    }

    /// Pooling backward: each output gradient to the input position that won the max, or spread over the window.
    public static func poolingBackward(
        _ algorithm: PoolingAlgorithm, diffSource: MemoryDescriptor, diffDestination: MemoryDescriptor, kernel: [Int],
        geometry: SpatialGeometry, hint: PrimitiveDescriptor, attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_pooling_v2_desc_t()
        var (dsrc, ddst) = (diffSource.raw, diffDestination.raw)
        let (s, l, r) = geometry.raw
        let k = kernel.map(Int64.init)
        let dilation = [Int64](repeating: 0, count: kernel.count)
        try check(
            dnnl_pooling_v2_backward_desc_init(&desc, algorithm.raw, &dsrc, &ddst, s, k, dilation, l, r),
            "dnnl_pooling_v2_backward_desc_init diff_dst \(diffDestination.dims)")
        return try create(desc, operation: "pooling backward", attributes: attributes, hint: hint)
    }
}
