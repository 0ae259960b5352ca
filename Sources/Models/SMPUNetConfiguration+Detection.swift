extension SMPUNetConfiguration {
    /// The configuration of an smp `Unet` state dict, read from its keys and shapes alone: the encoder from its
    /// blocks (a `conv3` means bottlenecks: ResNet-50; six blocks in `layer3`: ResNet-34, else ResNet-18), the depth
    /// and widths from `decoder.blocks.{i}.conv1.0.weight`, the classes from `segmentation_head.0.weight`, scse attention
    /// from `decoder.blocks.0.attention2.attention.sSE.0.weight`.
    /// - Returns: nil when the keys are not an smp `Unet`'s (no `encoder.conv1.weight` or `segmentation_head.0.weight`).
    /// - Throws: `UNetError.incompatibleCheckpoint` for an smp `Unet` this project does not build yet, naming what.
    public static func detect(shapes: [String: [Int]]) throws(UNetError) -> SMPUNetConfiguration? {
        guard let stem = shapes["encoder.conv1.weight"], let head = shapes["segmentation_head.0.weight"] else { return nil }
        guard stem.count == 4, stem[0] == 64, stem[2] == 7, stem[3] == 7, head.count == 4 else {
            throw .incompatibleCheckpoint("an smp model whose encoder is not a ResNet (encoder.conv1.weight \(stem)); "
                + "resnet18, resnet34 and resnet50 encoders are supported")
        }
        if shapes.keys.contains(where: { $0.hasPrefix("decoder.center.") || $0.hasPrefix("classification_head.") }) {
            throw .incompatibleCheckpoint("an smp Unet with a center block or a classification head (aux_params), "
                + "which this version does not build")
        }
        let encoder: ResNetEncoder.Variant
        if shapes["encoder.layer3.6.conv1.weight"] != nil {
            throw .incompatibleCheckpoint("an smp Unet with a ResNet encoder deeper than ResNet-50 (layer3 has more than 6 "
                + "blocks); resnet18, resnet34 and resnet50 are supported")
        } else if shapes["encoder.layer1.0.conv3.weight"] != nil {
            encoder = .resnet50
        } else {
            encoder = shapes["encoder.layer3.5.conv1.weight"] != nil ? .resnet34 : .resnet18
        }
        var widths: [Int] = []
        while widths.count < 6, let w = shapes["decoder.blocks.\(widths.count).conv1.0.weight"], w.count == 4 { widths.append(w[0]) }
        guard (1...5).contains(widths.count) else {
            throw .incompatibleCheckpoint("an smp Unet with \(widths.count) decoder blocks (1 to 5 expected)")
        }
        // smp's decoder_use_norm: batch norm (the default, built here) keeps running statistics; none leaves the
        // convolution its bias; layer norm and the others keep only an affine pair.
        if shapes["decoder.blocks.0.conv1.1.running_mean"] == nil {
            let norm = shapes["decoder.blocks.0.conv1.0.bias"] != nil ? "no norm (decoder_use_norm=False)"
                : "a norm other than batch norm (decoder_use_norm)"
            throw .incompatibleCheckpoint("an smp Unet whose decoder blocks have \(norm), which this version does not build "
                + "(it builds smp's default, batch norm)")
        }
        let attention: DecoderAttention? = shapes["decoder.blocks.0.attention2.attention.sSE.0.weight"] != nil ? .scse : nil
        return SMPUNetConfiguration(encoder: encoder, encoderDepth: widths.count, decoderChannels: widths, inputChannels: stem[1],
                                    classes: head[0], decoderAttention: attention)
    }
}
