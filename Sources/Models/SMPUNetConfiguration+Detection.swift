import Checkpoints

extension SMPUNetConfiguration {
    /// The configuration of an smp `Unet` state dict, read from its keys and shapes alone: the encoder from its blocks
    /// (`encoderVariant(shapes:)`, `efficientNetVariant(shapes:)`), the depth and widths from
    /// `decoder.blocks.{i}.conv1.0.weight`, the classes from `segmentation_head.0.weight`, scse attention from
    /// `decoder.blocks.0.attention2.attention.sSE.0.weight`.
    /// A classification head (`aux_params`: `classification_head.*`) is not part of the configuration: the masks do
    /// not depend on it (`ModelFile` leaves its tensors out).
    /// - Returns: nil when the keys are not an smp `Unet`'s (no `segmentation_head.0.weight` and decoder blocks).
    /// - Throws: `UNetError.incompatibleCheckpoint` for an smp `Unet` this project does not build yet, naming what.
    public static func detect(shapes: [String: [Int]]) throws(UNetError) -> SMPUNetConfiguration? {
        guard let head = shapes["segmentation_head.0.weight"], head.count == 4 else { return nil }
        let encoder: SMPEncoder
        let inputChannels: Int
        if let stem = shapes["encoder._conv_stem.weight"], stem.count == 4 {
            (encoder, inputChannels) = (.efficientNet(try efficientNetVariant(shapes: shapes)), stem[1])
        } else if let stem = shapes["encoder.conv1.weight"] {
            guard stem.count == 4, stem[0] == 64, stem[2] == 7, stem[3] == 7 else {
                throw .incompatibleCheckpoint("an smp model whose encoder is not a ResNet (encoder.conv1.weight \(stem)); "
                    + "ResNet, ResNeXt and EfficientNet (efficientnet-b0 to -b7) encoders are supported")
            }
            (encoder, inputChannels) = (.resnet(try encoderVariant(shapes: shapes)), stem[1])
        } else if shapes["decoder.blocks.0.conv1.0.weight"] != nil, let key = shapes.keys.filter({ $0.hasPrefix("encoder.") }).min() {
            throw .incompatibleCheckpoint("an smp Unet whose encoder (\(CheckpointError.quote(key)), ...) is not one this version builds: "
                + "ResNet, ResNeXt and EfficientNet (efficientnet-b0 to -b7, efficientnet-pytorch's) encoders are supported")
        } else {
            return nil
        }
        if shapes.keys.contains(where: { $0.hasPrefix("decoder.center.") }) {
            throw .incompatibleCheckpoint("an smp Unet with a center block (decoder.center.*), which this version does not build")
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
        return SMPUNetConfiguration(encoder: encoder, encoderDepth: widths.count, decoderChannels: widths, inputChannels: inputChannels,
                                    classes: head[0], decoderAttention: attention)
    }

    /// The ResNet or ResNeXt whose blocks an smp state dict's `encoder.*` keys hold: basic blocks or bottlenecks (a
    /// `conv3`), a bottleneck's groups and width per group (`layer1.0.conv2.weight` is `(width, width / groups, 3, 3)`,
    /// and layer 1's width is `widthPerGroup · groups`), and the blocks of each layer the file holds (a file without
    /// the layers past its depth matches the smallest encoder that fits).
    /// - Throws: `UNetError.incompatibleCheckpoint` for blocks no encoder smp names has, saying what they are.
    static func encoderVariant(shapes: [String: [Int]]) throws(UNetError) -> ResNetEncoder.Variant {
        let bottleneck = shapes["encoder.layer1.0.conv3.weight"] != nil
        var grouping = (groups: 1, widthPerGroup: 64)
        if bottleneck, let w = shapes["encoder.layer1.0.conv2.weight"], w.count == 4, w[1] > 0, w[0] % w[1] == 0 {
            grouping = (w[0] / w[1], w[1])
        }
        let blocks: [Int?] = (1...4).map { layer in
            var count = 0
            while count < 64, shapes["encoder.layer\(layer).\(count).conv1.weight"] != nil { count += 1 }
            return count == 0 ? nil : count
        }
        let match = ResNetEncoder.Variant.allCases.first { v in
            (v.block == .bottleneck) == bottleneck && v.grouping == grouping && zip(v.layers, blocks).allSatisfy { $1 == nil || $0 == $1 }
        }
        guard let match else {
            let counts = blocks.map { $0.map(String.init) ?? "-" }.joined(separator: ", ")
            throw .incompatibleCheckpoint("an smp Unet whose encoder has \(bottleneck ? "bottleneck" : "basic") blocks (\(counts) per layer"
                + (grouping.groups > 1 ? ", \(grouping.groups) groups of width \(grouping.widthPerGroup)" : "") + "), which no encoder this "
                + "version builds has (\(ResNetEncoder.Variant.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return match
    }

    /// The EfficientNet whose blocks an smp state dict's `encoder.*` keys hold: the stem's width, each block's
    /// depthwise convolution (`_blocks.{i}._depthwise_conv.weight`, `(expanded, 1, k, k)`) and the head's width
    /// (`_conv_head.weight`); a file without the blocks past its depth matches the first variant that fits.
    /// - Throws: `UNetError.incompatibleCheckpoint` for blocks no EfficientNet smp names has.
    static func efficientNetVariant(shapes: [String: [Int]]) throws(UNetError) -> EfficientNetEncoder.Variant {
        let stem = shapes["encoder._conv_stem.weight"] ?? []
        var depthwise: [[Int]] = []
        while depthwise.count < 256, let w = shapes["encoder._blocks.\(depthwise.count)._depthwise_conv.weight"] { depthwise.append(w) }
        let head = shapes["encoder._conv_head.weight"]
        let match = EfficientNetEncoder.Variant.allCases.first { v in
            let blocks = v.blocks
            return stem.first == v.stemChannels && depthwise.count <= blocks.count && (head == nil || head?.first == v.headChannels)
                && zip(blocks, depthwise).allSatisfy { $1 == [$0.expandedChannels, 1, $0.kernel, $0.kernel] }
        }
        guard let match else {
            throw .incompatibleCheckpoint("an smp Unet whose EfficientNet encoder (a \(stem.first.map(String.init) ?? "?")-channel stem, "
                + "\(depthwise.count) blocks) is none of efficientnet-b0 to -b7")
        }
        return match
    }
}
