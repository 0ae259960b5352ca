import CDNNL

/// Strides, zero padding and dilation of a 2-D convolution, pooling or transposed convolution.
public struct SpatialGeometry: Sendable, Equatable {
    public var strides: [Int]
    public var paddingLeft: [Int]
    public var paddingRight: [Int]
    /// PyTorch's convention: 1 is no dilation (oneDNN counts the gaps: 0).
    public var dilation: [Int]

    public init(strides: [Int], paddingLeft: [Int], paddingRight: [Int], dilation: [Int] = [1, 1]) {
        self.strides = strides
        self.paddingLeft = paddingLeft
        self.paddingRight = paddingRight
        self.dilation = dilation
    }

    /// Equal stride and symmetric padding in both spatial dimensions.
    public init(stride: Int, padding: Int) {
        self.init(strides: [stride, stride], paddingLeft: [padding, padding], paddingRight: [padding, padding])
    }
}

/// How oneDNN computes a convolution.
public enum ConvolutionAlgorithm: Sendable {
    case direct, winograd, auto

    var raw: dnnl_alg_kind_t {
        switch self {
        case .direct: dnnl_convolution_direct
        case .winograd: dnnl_convolution_winograd
        case .auto: dnnl_convolution_auto
        }
    }
}

/// Whether a descriptor describes `torch.nn.Conv2d` (convolution) or `torch.nn.ConvTranspose2d`
/// (oneDNN's deconvolution). Both share oneDNN's 2.x `dnnl_convolution_desc_t`.
public enum ConvolutionKind: Sendable {
    case convolution, transposed

    var name: String { self == .convolution ? "convolution" : "deconvolution" }
}

extension PrimitiveDescriptor {
    /// Forward convolution or deconvolution. Descriptors may use `.any` layouts; query the chosen ones.
    /// - Parameters:
    ///   - training: `forward_training` (keeps what backward needs) or `forward_inference`.
    ///   - bias: nil for a convolution without bias.
    public static func convolutionForward(
        _ kind: ConvolutionKind, training: Bool, source: MemoryDescriptor, weights: MemoryDescriptor,
        bias: MemoryDescriptor?, destination: MemoryDescriptor, geometry: SpatialGeometry,
        attributes: PrimitiveAttributes? = nil, algorithm: ConvolutionAlgorithm = .direct
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_convolution_desc_t()
        var (src, wei, dst) = (source.raw, weights.raw, destination.raw)
        var biasRaw = bias?.raw ?? dnnl_memory_desc_t()
        let (s, l, r) = geometry.raw
        let d = geometry.dilates
        let prop = training ? dnnl_forward_training : dnnl_forward_inference
        let status = withOptional(bias != nil, &biasRaw) { biasPointer in
            switch kind {
            case .convolution:
                dnnl_dilated_convolution_forward_desc_init(
                    &desc, prop, algorithm.raw, &src, &wei, biasPointer, &dst, s, d, l, r)
            case .transposed:
                dnnl_dilated_deconvolution_forward_desc_init(
                    &desc, prop, dnnl_deconvolution_direct, &src, &wei, biasPointer, &dst, s, d, l, r)
            }
        }
        try check(status, "dnnl_\(kind.name)_forward_desc_init src \(source.dims) weights \(weights.dims)")
        return try create(desc, operation: "\(kind.name) forward", attributes: attributes)
    }

    /// Gradient with respect to the input of a convolution or deconvolution.
    public static func convolutionBackwardData(
        _ kind: ConvolutionKind, diffSource: MemoryDescriptor, weights: MemoryDescriptor,
        diffDestination: MemoryDescriptor, geometry: SpatialGeometry, hint: PrimitiveDescriptor,
        algorithm: ConvolutionAlgorithm = .direct, attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_convolution_desc_t()
        var (dsrc, wei, ddst) = (diffSource.raw, weights.raw, diffDestination.raw)
        let (s, l, r) = geometry.raw
        let d = geometry.dilates
        let status =
            switch kind {
            case .convolution:
                dnnl_dilated_convolution_backward_data_desc_init(&desc, algorithm.raw, &dsrc, &wei, &ddst, s, d, l, r)
            case .transposed:
                dnnl_dilated_deconvolution_backward_data_desc_init(
                    &desc, dnnl_deconvolution_direct, &dsrc, &wei, &ddst, s, d, l, r)
            }
        try check(status, "dnnl_\(kind.name)_backward_data_desc_init diff_dst \(diffDestination.dims)")
        return try create(desc, operation: "\(kind.name) backward data", attributes: attributes, hint: hint)
    }

    /// Gradients with respect to the weights (and bias, unless `diffBias` is nil).
    public static func convolutionBackwardWeights(
        _ kind: ConvolutionKind, source: MemoryDescriptor, diffWeights: MemoryDescriptor,
        diffBias: MemoryDescriptor?, diffDestination: MemoryDescriptor, geometry: SpatialGeometry,
        hint: PrimitiveDescriptor, algorithm: ConvolutionAlgorithm = .direct, attributes: PrimitiveAttributes? = nil
    ) throws(DNNLError) -> PrimitiveDescriptor {
        var desc = dnnl_convolution_desc_t()
        var (src, dwei, ddst) = (source.raw, diffWeights.raw, diffDestination.raw)
        var biasRaw = diffBias?.raw ?? dnnl_memory_desc_t()
        let (s, l, r) = geometry.raw
        let d = geometry.dilates
        let status = withOptional(diffBias != nil, &biasRaw) { biasPointer in
            switch kind {
            case .convolution:
                dnnl_dilated_convolution_backward_weights_desc_init(
                    &desc, algorithm.raw, &src, &dwei, biasPointer, &ddst, s, d, l, r)
            case .transposed:
                dnnl_dilated_deconvolution_backward_weights_desc_init(
                    &desc, dnnl_deconvolution_direct, &src, &dwei, biasPointer, &ddst, s, d, l, r)
            }
        }
        try check(status, "dnnl_\(kind.name)_backward_weights_desc_init src \(source.dims)")
        return try create(desc, operation: "\(kind.name) backward weights", attributes: attributes, hint: hint)
    }
}

extension SpatialGeometry {
    var raw: ([Int64], [Int64], [Int64]) {
        (strides.map(Int64.init), paddingLeft.map(Int64.init), paddingRight.map(Int64.init))
    }

    /// oneDNN's dilation: the gaps between kernel taps.
    var dilates: [Int64] { dilation.map { Int64($0 - 1) } }
}

/// Calls `body` with a pointer to `value` when `present`, else with nil (an optional C argument).
func withOptional<T, R>(_ present: Bool, _ value: inout T, _ body: (UnsafePointer<T>?) -> R) -> R {
    present ? withUnsafePointer(to: &value) { body($0) } : body(nil)
}
