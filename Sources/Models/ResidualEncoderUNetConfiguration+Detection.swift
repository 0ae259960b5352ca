extension ResidualEncoderUNetConfiguration {
    /// The configuration of an nnU-Net `ResidualEncoderUNet` state dict (aliases removed), read from its keys and
    /// shapes: the stem from `encoder.stem.convs.0.conv.weight`, stages and blocks from
    /// `encoder.stages.{s}.blocks.{b}.conv1.conv.weight`, the decoder and strides as for `PlainConvUNet` (each
    /// transposed convolution's kernel).
    /// - Returns: nil when the keys are not a `ResidualEncoderUNet`'s (no `encoder.stem.convs.0.conv.weight`).
    /// - Throws: `UNetError.incompatibleCheckpoint` for a network this project does not build, naming what.
    public static func detect(shapes: [String: [Int]]) throws(UNetError) -> ResidualEncoderUNetConfiguration? {
        guard let stem = shapes["encoder.stem.convs.0.conv.weight"] else { return nil }
        guard stem.count == 4, let head = shapes["decoder.seg_layers.0.weight"], head.count == 4 else {
            throw .incompatibleCheckpoint("an nnU-Net ResidualEncoderUNet that is not 2-D or has no decoder.seg_layers.0.weight")
        }
        if shapes.keys.contains(where: { $0.contains(".conv3.") || $0.contains(".squeeze_excitation.") }) {
            throw .incompatibleCheckpoint("an nnU-Net residual encoder with bottleneck or squeeze-excitation blocks, which this version "
                + "does not build (BasicBlockD is built)")
        }
        var (features, kernels, widthKernels, blocks) = ([Int](), [Int](), [Int](), [Int]())
        while features.count < 12, shapes["encoder.stages.\(features.count).blocks.0.conv1.conv.weight"] != nil {
            let s = features.count
            let w = try UNetDecoder.weight(shapes, "encoder.stages.\(s).blocks.0.conv1.conv.weight")
            (features, kernels, widthKernels) = (features + [w[0]], kernels + [w[2]], widthKernels + [w[3]])
            var b = 1
            while b < 9, shapes["encoder.stages.\(s).blocks.\(b).conv1.conv.weight"] != nil { b += 1 }
            blocks.append(b)
        }
        let n = features.count
        guard n >= 2 else { throw .incompatibleCheckpoint("an nnU-Net ResidualEncoderUNet with \(n) stage (2 or more expected)") }
        let (strides, widthStrides, decoderConvs) = try UNetDecoder.detect(shapes: shapes, stages: n)
        guard shapes["encoder.stem.convs.0.norm.weight"] != nil, shapes["encoder.stem.convs.0.norm.running_mean"] == nil else {
            throw .incompatibleCheckpoint("an nnU-Net network whose norm is not affine instance norm (encoder.stem.convs.0.norm)")
        }
        return ResidualEncoderUNetConfiguration(features: features, strides: strides, widthStrides: widthStrides, kernelSizes: kernels,
                                                widthKernelSizes: widthKernels,
                                                blocksPerStage: blocks,
                                                convsPerStageDecoder: decoderConvs, inputChannels: stem[1], classes: head[0],
                                                convolutionBias: shapes["encoder.stem.convs.0.conv.bias"] != nil)
    }
}
