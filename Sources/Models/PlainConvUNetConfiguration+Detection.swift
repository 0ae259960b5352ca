extension PlainConvUNetConfiguration {
    /// The configuration of an nnU-Net `PlainConvUNet` state dict (aliases removed), read from its keys and shapes:
    /// stages, widths, kernels and convolutions per stage from `encoder.stages.{s}.0.convs.{c}.conv.weight`, the
    /// decoder's from `decoder.stages.{i}`, each stride (along each axis) from its transposed convolution's kernel (kernel = stride;
    /// the first stage's stride is nnU-Net's 1), the classes from the heads.
    /// - Returns: nil when the keys are not a `PlainConvUNet`'s (no `encoder.stages.0.0.convs.0.conv.weight` or
    ///   `decoder.seg_layers.0.weight`).
    /// - Throws: `UNetError.incompatibleCheckpoint` for an nnU-Net network this project does not build, naming what.
    public static func detect(shapes: [String: [Int]]) throws(UNetError) -> PlainConvUNetConfiguration? {
        guard let first = shapes["encoder.stages.0.0.convs.0.conv.weight"], let head = shapes["decoder.seg_layers.0.weight"] else { return nil }
        guard first.count == 4, head.count == 4 else {
            throw .incompatibleCheckpoint("a \(first.count - 2)-D nnU-Net network (encoder.stages.0.0.convs.0.conv.weight \(first)); "
                + "2-D networks are built")
        }
        var (features, kernels, widthKernels, convs) = ([Int](), [Int](), [Int](), [Int]())
        while features.count < 12, shapes["encoder.stages.\(features.count).0.convs.0.conv.weight"] != nil {
            let s = features.count
            let w = try UNetDecoder.weight(shapes, "encoder.stages.\(s).0.convs.0.conv.weight")
            (features, kernels, widthKernels) = (features + [w[0]], kernels + [w[2]], widthKernels + [w[3]])
            var c = 1
            while c < 9, shapes["encoder.stages.\(s).0.convs.\(c).conv.weight"] != nil { c += 1 }
            convs.append(c)
            guard shapes["encoder.stages.\(s).0.convs.0.norm.weight"] != nil, shapes["encoder.stages.\(s).0.convs.0.norm.running_mean"] == nil else {
                throw .incompatibleCheckpoint("an nnU-Net network whose norm is not affine instance norm (encoder.stages.\(s).0.convs.0.norm)")
            }
        }
        let n = features.count
        guard n >= 2 else { throw .incompatibleCheckpoint("an nnU-Net network with \(n) stage (2 or more expected)") }
        let (strides, widthStrides, decoderConvs) = try UNetDecoder.detect(shapes: shapes, stages: n)
        return PlainConvUNetConfiguration(features: features, strides: strides, widthStrides: widthStrides, kernelSizes: kernels,
                                          widthKernelSizes: widthKernels,
                                          convsPerStage: convs,
                                          convsPerStageDecoder: decoderConvs, inputChannels: first[1], classes: head[0],
                                          convolutionBias: shapes["encoder.stages.0.0.convs.0.conv.bias"] != nil)
    }
}
