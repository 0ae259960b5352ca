import CDNNL

/// Options attached to a primitive: output scales, fused post-operations and floating-point math mode.
/// Mirrors `dnnl::primitive_attr` and `dnnl::post_ops`.
public final class PrimitiveAttributes {
    let handle: dnnl_primitive_attr_t

    /// An operation fused after the primitive's main computation.
    public enum PostOp: Sendable {
        /// `dst = max(dst, 0)`.
        case relu
        /// `dst = dst` where positive, `slope·dst` elsewhere.
        case leakyReLU(slope: Float)
        /// `dst = dst · sigmoid(alpha·dst)`: SiLU where `alpha` is 1; `alpha = s` gives `silu(s·dst)/s`, a SiLU of values
        /// kept in steps of `s`.
        case swish(alpha: Float)
        /// `dst = min(max(dst, lower), upper)`.
        case clip(lower: Float, upper: Float)
        /// `dst = alpha·dst`.
        case linear(alpha: Float)
        /// `dst = scale * dst_before + dst` (accumulate into the existing destination).
        case sum(scale: Float)
        /// `dst = dst + src1`, `src1` of this layout and the destination's shape, bound as `Argument.postOpSource(i)`
        /// for the `i`-th post-op.
        case add(MemoryDescriptor)
    }

    /// Every primitive's scratch memory is the caller's (`Primitive.scratchpad`, or one `Primitive` allocates
    /// for itself): so one buffer can serve many primitives, and no primitive uses oneDNN's library-managed
    /// scratchpad, which Debian's oneDNN shares between the primitives a thread creates and which breaks when
    /// a primitive runs on another thread than the one that made it.
    ///
    /// - Parameter outputScales: factors applied to the result before the post-ops (`dnnl_primitive_attr_set_output_scales`):
    ///   one for the whole output (`mask` 0) or one per index of the dimensions set in `mask` (bit 1: an int8
    ///   convolution's output channels; for a reorder, bit 0: a weight's output channels). An int8 convolution computes
    ///   `dst = post-ops(scales · (Σ src·weights + bias))`, its bias in the accumulator's units.
    /// - Parameter firstSourceScale: a binary primitive's factor on its first source (`dnnl_primitive_attr_set_scales`
    ///   for `DNNL_ARG_SRC_0`): `dst = post-ops(scale · src0 ∘ src1)`, which writes 8 bits in steps of `1 / scale`.
    public init(outputScales: (mask: Int32, values: [Float])? = nil, firstSourceScale: Float? = nil,
                postOps: [PostOp] = []) throws(DNNLError) {
        var attr: dnnl_primitive_attr_t?
        try check(dnnl_primitive_attr_create(&attr), "dnnl_primitive_attr_create")
        handle = attr!
        try check(dnnl_primitive_attr_set_scratchpad_mode(handle, dnnl_scratchpad_mode_user),
                  "dnnl_primitive_attr_set_scratchpad_mode")
        if let outputScales {
            try check(dnnl_primitive_attr_set_output_scales(handle, Int64(outputScales.values.count), outputScales.mask,
                                                            outputScales.values), "dnnl_primitive_attr_set_output_scales")
        }
        if var scale = firstSourceScale {
            try check(dnnl_primitive_attr_set_scales(handle, DNNL_ARG_SRC_0, 1, 0, &scale), "dnnl_primitive_attr_set_scales")
        }
        guard !postOps.isEmpty else { return }
        var ops: dnnl_post_ops_t?
        try check(dnnl_post_ops_create(&ops), "dnnl_post_ops_create")
        defer { dnnl_post_ops_destroy(ops) }
        for op in postOps {
            switch op {
            case .relu:
                try check(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, 0, 0),
                          "dnnl_post_ops_append_eltwise")
            case .leakyReLU(let slope):
                try check(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, slope, 0),
                          "dnnl_post_ops_append_eltwise")
            case .swish(let alpha):
                try check(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_swish, alpha, 0), "dnnl_post_ops_append_eltwise")
            case .clip(let lower, let upper):
                try check(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_clip_v2, lower, upper), "dnnl_post_ops_append_eltwise")
            case .linear(let alpha):
                try check(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_linear, alpha, 0), "dnnl_post_ops_append_eltwise")
            case .sum(let scale):
                try check(dnnl_post_ops_append_sum(ops, scale), "dnnl_post_ops_append_sum")
            case .add(let descriptor):
                var raw = descriptor.raw
                try check(dnnl_post_ops_append_binary(ops, dnnl_binary_add, &raw), "dnnl_post_ops_append_binary")
            }
        }
        try check(dnnl_primitive_attr_set_post_ops(handle, ops), "dnnl_primitive_attr_set_post_ops")
    }

    deinit { dnnl_primitive_attr_destroy(handle) }
}
