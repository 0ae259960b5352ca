import Checkpoints

extension SMPUNetConfiguration {
    /// The configuration of an smp `Unet` state dict, read from its keys and shapes alone: the encoder from its blocks
    /// (`encoderVariant(shapes:)`, `seNetVariant(shapes:)`, `efficientNetVariant(shapes:)`, `timmEfficientNetVariant(shapes:)`,
    /// `checkMobileNetV2(shapes:)`), the depth and widths from
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
        } else if let stem = shapes["encoder.conv_stem.weight"], stem.count == 4, shapes["encoder.blocks.0.0.conv_dw.weight"] != nil {
            (encoder, inputChannels) = (.timmEfficientNet(try timmEfficientNetVariant(shapes: shapes)), stem[1])
        } else if let stem = shapes["encoder.features.0.0.weight"], stem.count == 4 {
            try checkMobileNetV2(shapes: shapes, inputChannels: stem[1])
            (encoder, inputChannels) = (.mobileNetV2, stem[1])
        } else if let stem = shapes["encoder.layer0.conv1.weight"] {
            guard stem.count == 4, stem[0] == 64, stem[2] == 7, stem[3] == 7 else {
                throw .incompatibleCheckpoint("an smp Unet whose SENet encoder has encoder.layer0.conv1.weight \(stem), not the 7x7 stem of "
                    + "an SE-ResNet or SE-ResNeXt (senet154's three 3x3 convolutions are not built); " + Self.supportedEncoders)
            }
            (encoder, inputChannels) = (.seNet(try seNetVariant(shapes: shapes)), stem[1])
        } else if let stem = shapes["encoder.conv1.weight"] {
            guard stem.count == 4, stem[0] == 64, stem[2] == 7, stem[3] == 7 else {
                throw .incompatibleCheckpoint("an smp model whose encoder is not a ResNet (encoder.conv1.weight \(stem)); "
                    + Self.supportedEncoders)
            }
            (encoder, inputChannels) = (.resnet(try encoderVariant(shapes: shapes)), stem[1])
        } else if shapes["decoder.blocks.0.conv1.0.weight"] != nil, let key = shapes.keys.filter({ $0.hasPrefix("encoder.") }).min() {
            throw .incompatibleCheckpoint("an smp Unet whose encoder (\(CheckpointError.quote(key)), ...) is not one this version builds: "
                + Self.supportedEncoders)
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

    /// The timm EfficientNet whose blocks an smp state dict's `encoder.*` keys hold: the stem's width, each block's
    /// depthwise convolution (`blocks.{stage}.{i}.conv_dw.weight`, `(expanded, 1, k, k)`), squeeze-and-excitation or
    /// none (EfficientNet-Lite) and the head's width; a file without the stages past its depth matches the first
    /// variant that fits.
    /// - Throws: `UNetError.incompatibleCheckpoint` for blocks no timm EfficientNet smp names has.
    static func timmEfficientNetVariant(shapes: [String: [Int]]) throws(UNetError) -> TimmEfficientNetEncoder.Variant {
        let stem = shapes["encoder.conv_stem.weight"] ?? []
        var stages: [[[Int]]] = []
        while stages.count < 7 {
            var blocks: [[Int]] = []
            while blocks.count < 256, let w = shapes["encoder.blocks.\(stages.count).\(blocks.count).conv_dw.weight"] { blocks.append(w) }
            guard !blocks.isEmpty else { break }
            stages.append(blocks)
        }
        let excites = shapes["encoder.blocks.0.0.se.conv_reduce.weight"] != nil
        let head = shapes["encoder.conv_head.weight"]
        let match = TimmEfficientNetEncoder.Variant.allCases.first { v in
            let expected = v.stageBlocks
            return stem.first == v.stemChannels && v.isLite != excites && (head == nil || head?.first == v.headChannels)
                && stages.count <= expected.count
                && zip(expected, stages).allSatisfy { e, found in
                    e.count == found.count && zip(e, found).allSatisfy { $1 == [$0.expandedChannels, 1, $0.kernel, $0.kernel] }
                }
        }
        guard let match else {
            throw .incompatibleCheckpoint("an smp Unet whose timm EfficientNet encoder (a \(stem.first.map(String.init) ?? "?")-channel stem, "
                + "\(stages.map { String($0.count) }.joined(separator: "-")) blocks per stage, \(excites ? "" : "no ")squeeze-and-excitation) "
                + "is none of timm-efficientnet-b0 to -b8, -l2 and timm-tf_efficientnet_lite0 to lite4")
        }
        return match
    }

    /// The SE-ResNet or SE-ResNeXt whose blocks an smp state dict's `encoder.*` keys hold: the 3x3 convolution's groups
    /// (`layer1.0.conv2.weight`) and the blocks of each layer the file holds.
    /// - Throws: `UNetError.incompatibleCheckpoint` for blocks no SE network smp names has.
    static func seNetVariant(shapes: [String: [Int]]) throws(UNetError) -> SENetEncoder.Variant {
        let conv2 = shapes["encoder.layer1.0.conv2.weight"] ?? []
        let grouped = conv2.count == 4 && conv2[1] > 0 && conv2[0] / conv2[1] == 32
        let blocks = layerBlockCounts(shapes: shapes)
        let match = SENetEncoder.Variant.allCases.first { v in
            v.grouped == grouped
                && conv2.first == ResNetBlock.bottleneckWidth(planes: 64, groups: v.grouping.groups, widthPerGroup: v.grouping.widthPerGroup)
                && zip(v.layers, blocks).allSatisfy { $1 == nil || $0 == $1 }
        }
        guard let match else {
            let counts = blocks.map { $0.map(String.init) ?? "-" }.joined(separator: ", ")
            throw .incompatibleCheckpoint("an smp Unet whose SENet encoder has \(counts) blocks per layer, layer1.0.conv2.weight \(conv2), "
                + "which no encoder this version builds has (\(SENetEncoder.Variant.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return match
    }

    /// The blocks of layers 1-4 a ResNet-style encoder's keys hold (`encoder.layer{i}.{j}.conv1.weight`), nil for a
    /// layer the file lacks (smp files hold every layer, trimmed ones only those their depth reads).
    private static func layerBlockCounts(shapes: [String: [Int]]) -> [Int?] {
        (1...4).map { layer in
            var count = 0
            while count < 64, shapes["encoder.layer\(layer).\(count).conv1.weight"] != nil { count += 1 }
            return count == 0 ? nil : count
        }
    }

    /// What the refusals of other encoders list.
    static let supportedEncoders = "ResNet, ResNeXt, SE-ResNet and SE-ResNeXt (se_resnet50 to 152, se_resnext50_32x4d, "
        + "se_resnext101_32x4d), EfficientNet (efficientnet-b0 to -b7, efficientnet-pytorch's; "
        + "timm-efficientnet-b0 to -b8, -l2 and timm-tf_efficientnet_lite0 to lite4, timm's) and MobileNetV2 (mobilenet_v2, "
        + "torchvision's) encoders are supported"

    /// Checks that an smp state dict's `encoder.features.*` keys are torchvision's MobileNetV2 (width multiplier 1): the
    /// stem's width, each block's depthwise convolution (`(expanded, 1, 3, 3)`) and projection, and the head's width,
    /// as far as the file holds them.
    /// - Throws: `UNetError.incompatibleCheckpoint` naming the first that differs.
    static func checkMobileNetV2(shapes: [String: [Int]], inputChannels: Int) throws(UNetError) {
        func check(_ key: String, _ expected: (Int, Int)) throws(UNetError) {
            guard let shape = shapes["encoder." + key] else { return }
            guard shape.count == 4, shape[0] == expected.0, shape[1] == expected.1 else {
                throw .incompatibleCheckpoint("an smp Unet whose MobileNet encoder has encoder.\(key) \(shape), where torchvision's "
                    + "mobilenet_v2 (width 1.0) has [\(expected.0), \(expected.1), ...]: other MobileNets are not built")
            }
        }
        try check("features.0.0.weight", (MobileNetV2Encoder.stemChannels, inputChannels))
        for (i, a) in MobileNetV2Encoder.blocks.enumerated() {
            let key = "features.\(i + 1).conv.\(a.expandRatio == 1 ? 0 : 1).0.weight"
            guard shapes["encoder." + key] != nil || i == 0 else { break }
            try check(key, (a.expandedChannels, 1))
            try check("features.\(i + 1).conv.\(a.expandRatio == 1 ? 1 : 2).weight", (a.outputChannels, a.expandedChannels))
        }
        try check("features.18.0.weight", (MobileNetV2Encoder.headChannels, MobileNetV2Encoder.blocks.last!.outputChannels))
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
        let blocks = layerBlockCounts(shapes: shapes)
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
