/// The optimizations a compiled network applies, each of which can be switched off. With every pass off the
/// engine is the reference: each op runs as its own oneDNN primitive on plain NCHW float32 tensors, each value has
/// storage of its own, training keeps every value backward reads and hands gradients to the optimizer after
/// backward. Tests compare every pass on with every pass off on each architecture and option.
public enum Pass: String, CaseIterable, Sendable, Comparable {
    /// Inference: an eval-mode batch norm after a convolution (or a transposed convolution the
    /// `transposedAsDepthToSpace` pass rewrote as one) folded into its weight and bias (`Graph.foldingBatchNorm()`).
    case foldBatchNorm = "fold-batch-norm"
    /// Inference: a PReLU with one shared slope (MONAI's) as a leaky ReLU of the slope the network is compiled with,
    /// then a convolution's post-op like any leaky ReLU; reloading a changed slope is refused (compile again).
    case bakePReLU = "bake-prelu"
    /// ReLU (and leaky ReLU) after a convolution as its post-op, ReLU after a training batch norm fused into it, and
    /// in inference ReLU or leaky ReLU after an instance norm as its post-op (`Graph.fusingActivations(training:)`).
    case fuseActivations = "fuse-activations"
    /// Inference: a convolution's output added to another map read by nothing after (a residual block's
    /// `conv(x) + identity`) as the convolution adding into that map in place, with a ReLU after it as its post-op
    /// (`Graph.fusingResidualAdds()`).
    case fuseResidualAdds = "fuse-residual-adds"
    /// Inference: a map multiplied by a channel gate and added to another map, read by nothing else (a
    /// squeeze-and-excitation block's `se(x) + identity`), with a ReLU after the sum, as one op: one pass over the maps
    /// instead of three (`Graph.fusingGatedResiduals()`).
    case fuseGatedResiduals = "fuse-gated-residuals"
    /// A convolution of a concatenation split into one convolution per input, each adding into the same output:
    /// no concatenated copy (`Graph.splittingConcatenations()`).
    case splitConcat = "split-concat"
    /// Inference (not calibration): a 3x3 convolution of a nearest 2x up-sampling as four 2x2 convolutions of the map
    /// before it, one per output phase, and an interleave: 4 multiply-adds per pixel and input channel instead of 9
    /// (`Graph.rewritingUpsampledConvolutions(partsAddingIn:)`); in an int8 network each phase takes its convolution's
    /// range, and the split part adding into the phases (the skip's) becomes four stride-2 phase convolutions too.
    case upsampledAsPhases = "upsampled-as-phases"
    /// Inference (not calibration): a stride-1 convolution to fewer than 8 channels on a large map (a segmentation
    /// head) as a stride-`r` convolution computing its output's `r×r` blocks, to `r²·C_out` channels, and a
    /// depth-to-space reorder: oneDNN's vectors over output channels filled instead of mostly idle
    /// (`Graph.rewritingNarrowConvolutions()`).
    case narrowAsDepthToSpace = "narrow-as-depth-to-space"
    /// A transposed convolution with kernel = stride as a 1x1 convolution and a depth-to-space reorder, which
    /// oneDNN runs several times faster than its deconvolution; in inference, one of kernel 3 and stride 2 that
    /// doubles the size as a 2x2 convolution and a depth-to-space reorder, or in fp32 with 16 or more output channels
    /// as its four phase convolutions and an interleave (`Graph.rewritingTransposedConvolutions(training:precision:int8:)`).
    case transposedAsDepthToSpace = "transposed-as-depth-to-space"
    /// Activations in oneDNN's blocked layout (`nChw16c` on AVX-512, `nChw8c` on AVX2) or NHWC, instead of NCHW.
    case layout
    /// Winograd convolutions where oneDNN has them within the scratchpad limit.
    case winograd
    /// bf16 networks: regions where fp32 Winograd beats bf16 run in fp32, with conversions between; int8 networks on a
    /// CPU with native bf16: the float32 convolutions of the image and of the logits in bf16, and the maps that only an
    /// instance norm writing 8 bits or bf16 reads kept in bf16.
    case precisionRegions = "precision-regions"
    /// Training: values backward reads are made again from kept ones where that is cheap (normalizations,
    /// activations, copies; and, in fp32, convolutions whose inputs are at hand) instead of kept.
    case recompute
    /// Training: each parameter's optimizer update runs inside backward as soon as its gradient is complete.
    case fuseOptimizer = "fuse-optimizer"
    /// Buffers whose lifetimes do not overlap share storage: one arena, offsets by interval packing. In inference a
    /// convolution whose scratchpad grows with the batch (Winograd) or passes its output's size (oneDNN 2.6's bf16 1x1)
    /// runs over slices of its output (images, output channels), each with a slice's scratchpad.
    case planMemory = "plan-memory"

    public static func < (a: Pass, b: Pass) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
