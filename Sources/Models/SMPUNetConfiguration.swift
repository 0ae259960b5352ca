/// The options of segmentation_models_pytorch's `Unet` this project builds (smp 0.6.0): an encoder `SMPEncoder` names
/// (ResNet, SE-ResNet, EfficientNet, MobileNetV2) of `encoderDepth` stages and one decoder block per stage. The defaults are smp's: `resnet34`, depth 5, decoder
/// channels `(256, 128, 64, 32, 16)`, batch-norm decoder blocks, nearest up-sampling, no attention.
public struct SMPUNetConfiguration: Hashable, Sendable, Codable {
    /// smp's `decoder_attention_type` (the one its `Unet` builds).
    public enum DecoderAttention: String, Codable, CaseIterable, Sendable {
        /// `SCSEModule` after each block's concatenation and after its second convolution.
        case scse
    }

    /// smp's `decoder_interpolation`: how each decoder block up-samples to the skip's size (`F.interpolate`'s mode).
    public enum DecoderInterpolation: String, Codable, CaseIterable, Sendable {
        /// smp's default.
        case nearest
        /// `align_corners=False`: half-pixel centres.
        case bilinear
    }

    /// smp's `encoder_name`.
    public var encoder: SMPEncoder
    /// smp's `encoder_depth`: how many of the encoder's five feature maps the decoder uses (1-5).
    public var encoderDepth: Int
    /// smp's `decoder_channels`, deepest block first; one per encoder stage.
    public var decoderChannels: [Int]
    public var inputChannels: Int
    public var classes: Int
    /// smp's `decoder_attention_type` (nil: None).
    public var decoderAttention: DecoderAttention?
    /// smp's `decoder_interpolation`, which the weights do not show.
    public var decoderInterpolation: DecoderInterpolation
    /// An EfficientNet encoder's stochastic depth (efficientnet-pytorch's `drop_connect_rate`, timm's
    /// `drop_path_rate`; smp builds them at 0.2), in training only: a checkpoint does not record it. nil: none.
    public var dropPath: Float?

    public init(encoder: SMPEncoder = .resnet(.resnet34), encoderDepth: Int = 5, decoderChannels: [Int] = [256, 128, 64, 32, 16],
                inputChannels: Int = 3, classes: Int = 1, decoderAttention: DecoderAttention? = nil,
                decoderInterpolation: DecoderInterpolation = .nearest, dropPath: Float? = nil) {
        (self.encoder, self.encoderDepth, self.decoderChannels) = (encoder, encoderDepth, decoderChannels)
        (self.inputChannels, self.classes, self.decoderAttention) = (inputChannels, classes, decoderAttention)
        (self.decoderInterpolation, self.dropPath) = (decoderInterpolation, dropPath)
    }

    /// Decodes a configuration; files written before `decoderInterpolation` existed up-sample by nearest, and those
    /// before `dropPath` have none.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(encoder: try c.decode(SMPEncoder.self, forKey: .encoder), encoderDepth: try c.decode(Int.self, forKey: .encoderDepth),
                  decoderChannels: try c.decode([Int].self, forKey: .decoderChannels), inputChannels: try c.decode(Int.self, forKey: .inputChannels),
                  classes: try c.decode(Int.self, forKey: .classes),
                  decoderAttention: try c.decodeIfPresent(DecoderAttention.self, forKey: .decoderAttention),
                  decoderInterpolation: try c.decodeIfPresent(DecoderInterpolation.self, forKey: .decoderInterpolation) ?? .nearest,
                  dropPath: try c.decodeIfPresent(Float.self, forKey: .dropPath))
    }

    /// The largest width of a decoder block this project accepts (smp's defaults stay far below it).
    public static let maximumWidth = 4096

    /// - Throws: `UNetError.invalidConfiguration` naming the option out of range.
    public func validate() throws(UNetError) {
        if case .efficientNet = encoder {
            guard (2...5).contains(encoderDepth) else {
                throw .invalidConfiguration("encoder depth \(encoderDepth): smp's EfficientNet encoders take 2 to 5 stages")
            }
        }
        guard (1...5).contains(encoderDepth) else {
            throw .invalidConfiguration("encoder depth \(encoderDepth): smp's \(encoder.rawValue) encoder has 1 to 5 stages")
        }
        guard decoderChannels.count == encoderDepth else {
            throw .invalidConfiguration("\(decoderChannels.count) decoder channels for encoder depth \(encoderDepth): one per stage")
        }
        guard decoderChannels.allSatisfy({ (1...Self.maximumWidth).contains($0) }) else {
            throw .invalidConfiguration("decoder channels \(decoderChannels) must be in 1...\(Self.maximumWidth)")
        }
        guard (1...64).contains(inputChannels) else { throw .invalidConfiguration("\(inputChannels) input channels (1...64)") }
        guard (1...65536).contains(classes) else { throw .invalidConfiguration("\(classes) classes (1...65536)") }
        if let dropPath {
            guard encoder.hasDropPath || dropPath == 0 else {
                throw .invalidConfiguration("drop path: the \(encoder.rawValue) encoder has no stochastic depth (smp's EfficientNets have)")
            }
            guard dropPath >= 0 && dropPath < 1 else { throw .invalidConfiguration("drop path \(dropPath): in [0, 1)") }
        }
        if decoderAttention != nil {
            let widths = decoderChannels.indices.flatMap { i in [decoderInputs(i).input + decoderInputs(i).skip, decoderChannels[i]] }
            guard widths.allSatisfy({ $0 >= SCSEModule.reduction }) else {
                throw .invalidConfiguration("scse decoder attention divides each block's channels by \(SCSEModule.reduction): "
                    + "decoder channels \(decoderChannels) must be at least \(SCSEModule.reduction)")
            }
        }
    }

    /// For decoder block `i` (deepest first): its input channels (the up-sampled map) and the skip's (0 for the
    /// last block, which has none).
    public func decoderInputs(_ i: Int) -> (input: Int, skip: Int) {
        let features = encoder.featureChannels.prefix(encoderDepth)
        let input = i == 0 ? features.last! : decoderChannels[i - 1]
        let skipLevel = encoderDepth - 2 - i  // feature index (0-based) of the skip
        return (input, skipLevel >= 0 ? features[skipLevel] : 0)
    }
}

extension SMPUNetConfiguration: CustomStringConvertible {
    /// `smp Unet(resnet34, depth 5, decoder 256-128-64-32-16, 3 -> 2 classes)`.
    public var description: String {
        "smp Unet(\(encoder.rawValue), depth \(encoderDepth), decoder \(decoderChannels.map(String.init).joined(separator: "-")), "
            + "\(decoderAttention.map { "\($0.rawValue) attention, " } ?? "")"
            + "\(decoderInterpolation == .nearest ? "" : "\(decoderInterpolation.rawValue) up-sampling, ")"
            + "\(dropPath.map { $0 > 0 ? "drop path \($0), " : "" } ?? "")\(inputChannels) -> \(classes) classes)"
    }
}
