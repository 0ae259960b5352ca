extension SMPUNetConfiguration {
    /// The smallest side length the network takes: 1 (every stride rounds up), or 5 for an SE network past its stem,
    /// whose max-pool has no padding and needs 3 pixels of the stem's output.
    public var smallestSide: Int {
        if case .seNet = encoder, encoderDepth >= 2 { return 5 }
        return 1
    }

    /// The number of trainable parameters (weights, biases, batch-norm affine parameters), counted from the
    /// configuration as `SMPUNet.init` lays it out, in floating point. Checked before any weight is allocated.
    public var parameterCount: Double {
        func conv(_ input: Int, _ output: Int, _ kernel: Int, groups: Int = 1) -> Double {
            Double(input / groups) * Double(output) * Double(kernel * kernel)
        }
        func norm(_ channels: Int) -> Double { 2 * Double(channels) }
        /// A 3x3 stem and a 1x1 head, each with batch norm, around blocks of `blockParameters` ending at `lastWidth`.
        func stemBlocksHead(stem: Int, blockParameters: Double, lastWidth: Int, head: Int) -> Double {
            conv(inputChannels, stem, 3) + norm(stem) + blockParameters + conv(lastWidth, head, 1) + norm(head)
        }
        var total: Double
        switch encoder {
        case .resnet(let encoder):
            total = conv(inputChannels, 64, 7) + norm(64)
            var width = 64
            let expansion = encoder.block.expansion
            for (i, count) in encoder.layers.enumerated() {
                let planes = 64 << i
                for b in 0..<count {
                    let output = planes * expansion
                    if encoder.block == .basic {
                        total += conv(width, planes, 3) + conv(planes, planes, 3) + 2 * norm(planes)
                    } else {
                        let (groups, widthPerGroup) = encoder.grouping
                        let inner = ResNetBlock.bottleneckWidth(planes: planes, groups: groups, widthPerGroup: widthPerGroup)
                        total += conv(width, inner, 1) + conv(inner, inner, 3, groups: groups) + conv(inner, output, 1) + 2 * norm(inner)
                            + norm(output)
                    }
                    if (i > 0 && b == 0) || width != output { total += conv(width, output, 1) + norm(output) }
                    width = output
                }
            }
        case .seNet(let encoder):
            total = conv(inputChannels, 64, 7) + norm(64)
            var width = 64
            for (i, count) in encoder.layers.enumerated() {
                let (planes, output) = (64 << i, 256 << i)
                let (groups, widthPerGroup) = encoder.grouping
                let inner = ResNetBlock.bottleneckWidth(planes: planes, groups: groups, widthPerGroup: widthPerGroup)
                let squeezed = output / ResNetBlock.reduction
                for b in 0..<count {
                    total += conv(width, inner, 1) + conv(inner, inner, 3, groups: groups) + conv(inner, output, 1)
                        + 2 * norm(inner) + norm(output) + conv(output, squeezed, 1) + Double(squeezed) + conv(squeezed, output, 1) + Double(output)
                    if b == 0 { total += conv(width, output, 1) + norm(output) }
                    width = output
                }
            }
        case .efficientNet(let encoder):
            let blocks = encoder.blocks
            total = stemBlocksHead(stem: encoder.stemChannels, blockParameters: blocks.reduce(0) { $0 + MBConvBlock.parameterCount($1) },
                                   lastWidth: blocks.last!.outputChannels, head: encoder.headChannels)
        case .timmEfficientNet(let encoder):
            let blocks = Array(encoder.stageBlocks.joined())
            total = stemBlocksHead(stem: encoder.stemChannels, blockParameters: blocks.reduce(0) { $0 + MBConvBlock.parameterCount($1) },
                                   lastWidth: blocks.last!.outputChannels, head: encoder.headChannels)
        case .mobileNetV2:
            let blocks = MobileNetV2Encoder.blocks
            total = stemBlocksHead(stem: MobileNetV2Encoder.stemChannels,
                                   blockParameters: blocks.reduce(0) { $0 + InvertedResidual.parameterCount($1) },
                                   lastWidth: blocks.last!.outputChannels, head: MobileNetV2Encoder.headChannels)
        }
        for (i, out) in decoderChannels.enumerated() {
            let (input, skip) = decoderInputs(i)
            total += conv(input + skip, out, 3) + conv(out, out, 3) + 2 * norm(out)
            if decoderAttention != nil {
                total += SCSEModule.parameterCount(channels: input + skip) + SCSEModule.parameterCount(channels: out)
            }
        }
        return total + conv(decoderChannels.last ?? 0, classes, 3) + Double(classes)
    }

    /// About how many bytes the feature maps of a batch take (see `UNetConfiguration.activationBytesEstimate`): the
    /// encoder's features, each counted for its stage's blocks, and the decoder's maps, in float32.
    public func activationBytesEstimate(batch: Int, height: Int, width: Int, training: Bool) -> Double {
        let pixels = Double(height) * Double(width)
        var total = 0.0
        switch encoder {
        case .resnet(let encoder):
            for (stage, channels) in encoder.featureChannels.prefix(encoderDepth).enumerated() {
                let blocks = stage == 0 ? 1 : encoder.layers[stage - 1]
                total += Double(channels) * Double(blocks) * pixels / Double(1 << (2 * (stage + 1)))
            }
        case .seNet(let encoder):
            // As a ResNet's, with the squeeze-and-excitation's gated map beside each block's output.
            for (stage, channels) in SENetEncoder.Variant.featureChannels.prefix(encoderDepth).enumerated() {
                let blocks = stage == 0 ? 1 : 2 * encoder.layers[stage - 1]
                total += Double(channels) * Double(blocks) * pixels / Double(1 << (2 * (stage + 1)))
            }
        case .efficientNet(let encoder):
            total += mobileInvertedBottlenecks(stem: encoder.stemChannels,
                                               encoder.blocks.prefix(encoder.outIndexes[max(encoderDepth - 2, 0)] + 1), pixels: pixels)
        case .timmEfficientNet(let encoder):
            let stages = encoderDepth < 2 ? 0 : TimmEfficientNetEncoder.featureStages[min(encoderDepth, 5) - 2] + 1
            total += mobileInvertedBottlenecks(stem: encoder.stemChannels, encoder.stageBlocks.prefix(stages).joined(), pixels: pixels)
        case .mobileNetV2:
            // Each block keeps its expanded maps (expansion, depthwise) and its output; the head its 1280 channels.
            total += Double(MobileNetV2Encoder.stemChannels) * pixels / 4
            var scale = 4.0
            let last = MobileNetV2Encoder.outIndexes[min(max(encoderDepth, 1), 5) - 1]
            for block in MobileNetV2Encoder.blocks.prefix(last) {
                scale *= Double(block.stride * block.stride)
                total += Double(2 * block.expandedChannels + block.outputChannels) * pixels / scale
            }
            if last > MobileNetV2Encoder.blocks.count { total += Double(MobileNetV2Encoder.headChannels) * pixels / scale }
        }
        for (i, channels) in decoderChannels.enumerated() {
            let (input, skip) = decoderInputs(i)
            // scse keeps its two products and their sum beside each map it weighs.
            let attention = decoderAttention == nil ? 0 : 3 * (input + skip + channels)
            total += Double(input + skip + 2 * channels + attention) * pixels / Double(1 << (2 * (encoderDepth - 1 - i)))
        }
        let logits = Double(classes) * pixels * (training ? 4 : 2)
        return (total * (training ? 8 : 3) + logits) * Double(batch) * 4
    }

    /// The feature maps of an EfficientNet's stem (at half the size) and `blocks` (efficientnet-pytorch's or timm's),
    /// in values: each block keeps its expanded maps (expansion, depthwise, gated) and its output.
    private func mobileInvertedBottlenecks(stem: Int, _ blocks: some Sequence<MBConvBlock.Arguments>, pixels: Double) -> Double {
        var total = Double(stem) * pixels / 4
        var scale = 4.0
        for block in blocks {
            scale *= Double(block.stride * block.stride)
            total += Double(3 * block.expandedChannels + block.outputChannels) * pixels / scale
        }
        return total
    }
}
