/// The architecture of a `UNet`: every option the common PyTorch U-Nets differ in, and the layout whose
/// `state_dict` key names the model uses. Encoded as JSON in native model files.
public struct UNetConfiguration: Codable, Equatable, Sendable, CustomStringConvertible {
    /// Whose key names the model's state dict uses.
    public enum Layout: String, Codable, CaseIterable, Sendable {
        /// milesial/Pytorch-UNet: `inc.double_conv.0.weight`, `down1.maxpool_conv.1.double_conv.*`, `up1.up.*`, `outc.conv.*`.
        case milesial
        /// labml.ai's annotated U-Net: `down_conv.0.first.weight`, `middle_conv.*`, `up_sample.0.up.*`, `up_conv.*`, `final_conv.*`.
        case labml
        /// The tutorial layout: `inc.conv.0.weight`, `down1.maxpool_conv.1.conv.*`, `up1.up.*`, `up1.conv.conv.*`, `outc.*`.
        case tutorial
    }

    /// 3x3 convolutions with padding 1 (`same`, output size = input size) or 0 (`valid`, the paper: 572 → 388).
    public enum Padding: String, Codable, CaseIterable, Sendable { case same, valid }

    /// How a decoder level reconciles the up-sampled map with the (possibly larger) skip map.
    public enum SkipMerge: String, Codable, CaseIterable, Sendable {
        /// Zero-pad the up-sampled map to the skip's size (milesial's `F.pad`).
        case pad
        /// Center-crop the skip to the up-sampled map's size (the paper, labml; torchvision semantics).
        case crop
    }

    /// Which map comes first in the channel concatenation.
    public enum ConcatOrder: String, Codable, CaseIterable, Sendable {
        /// `cat([skip, upsampled])`: milesial, tutorial.
        case skipFirst = "skip-first"
        /// `cat([upsampled, skip])`: labml.
        case upsampledFirst = "upsampled-first"
    }

    /// How the decoder doubles the spatial size.
    public enum Upsampling: String, Codable, CaseIterable, Sendable {
        /// `ConvTranspose2d(k=2, s=2)`, halving the channels.
        case transposed
        /// Bilinear x2 with `align_corners=True` and milesial's halved decoder channels (`bilinear=True`).
        case bilinear
    }

    public var layout: Layout
    public var inputChannels: Int
    public var classes: Int
    /// Channels of the first level (64 in the paper); level i has `baseWidth · 2^i`.
    public var baseWidth: Int
    /// Number of down-samplings (4 in the paper).
    public var depth: Int
    public var padding: Padding
    public var merge: SkipMerge
    public var concatOrder: ConcatOrder
    /// BatchNorm2d after every 3x3 convolution.
    public var batchNorm: Bool
    /// Bias on the 3x3 convolutions (the 1x1 head and up-convolutions always have one).
    public var convolutionBias: Bool
    public var upsampling: Upsampling

    public init(
        layout: Layout = .milesial, inputChannels: Int = 3, classes: Int = 2, baseWidth: Int = 64, depth: Int = 4,
        padding: Padding = .same, merge: SkipMerge = .pad, concatOrder: ConcatOrder = .skipFirst,
        batchNorm: Bool = true, convolutionBias: Bool = false, upsampling: Upsampling = .transposed
    ) {
        self.layout = layout
        self.inputChannels = inputChannels
        self.classes = classes
        self.baseWidth = baseWidth
        self.depth = depth
        self.padding = padding
        self.merge = merge
        self.concatOrder = concatOrder
        self.batchNorm = batchNorm
        self.convolutionBias = convolutionBias
        self.upsampling = upsampling
    }

    /// milesial/Pytorch-UNet's `UNet(n_channels, n_classes, bilinear)`: conv without bias + BN, same padding,
    /// pad the up-sampled map, skip first.
    public static func milesial(inputChannels: Int = 3, classes: Int = 2, bilinear: Bool = false, baseWidth: Int = 64,
                                depth: Int = 4) -> UNetConfiguration {
        UNetConfiguration(layout: .milesial, inputChannels: inputChannels, classes: classes, baseWidth: baseWidth,
                          depth: depth, upsampling: bilinear ? .bilinear : .transposed)
    }

    /// labml.ai's annotated U-Net: conv with bias, no BN, same padding, center-crop the skip, up-sampled first.
    public static func labml(inputChannels: Int = 1, classes: Int = 2, baseWidth: Int = 64, depth: Int = 4)
        -> UNetConfiguration
    {
        UNetConfiguration(layout: .labml, inputChannels: inputChannels, classes: classes, baseWidth: baseWidth,
                          depth: depth, merge: .crop, concatOrder: .upsampledFirst, batchNorm: false,
                          convolutionBias: true)
    }

    /// The tutorial layout: conv with bias, then BN; skip first; its merge modes are valid + crop, same + pad,
    /// or same + crop.
    public static func tutorial(inputChannels: Int = 3, classes: Int = 2, baseWidth: Int = 64, depth: Int = 4,
                                padding: Padding = .same, merge: SkipMerge = .pad) -> UNetConfiguration {
        UNetConfiguration(layout: .tutorial, inputChannels: inputChannels, classes: classes, baseWidth: baseWidth,
                          depth: depth, padding: padding, merge: merge, convolutionBias: true)
    }

    /// Channels of encoder level `level` (0...depth).
    public func width(_ level: Int) -> Int { baseWidth << level }

    /// The most channels any level may have, and the most input channels and classes.
    public static let maximumChannels = 65536
    /// The most parameters a U-Net may have (2^30: 4 GiB of float32 weights, 16 GiB to train with Adam).
    public static let maximumParameters = 1 << 30

    /// Checks the options fit together and within the limits (channels, parameters).
    /// - Throws: `UNetError.invalidConfiguration` naming the option.
    public func validate() throws(UNetError) {
        func fail(_ reason: String) -> UNetError { .invalidConfiguration(reason) }
        let limit = Self.maximumChannels
        guard (1...limit).contains(inputChannels) else { throw fail("input channels must be 1...\(limit), got \(inputChannels)") }
        guard (1...limit).contains(classes) else { throw fail("classes must be 1...\(limit), got \(classes)") }
        guard (1...limit).contains(baseWidth) else { throw fail("base width must be 1...\(limit), got \(baseWidth)") }
        guard (1...8).contains(depth) else { throw fail("depth must be 1...8, got \(depth)") }
        guard baseWidth << depth <= limit else {
            throw fail("base width \(baseWidth) at depth \(depth) gives \(baseWidth << depth) channels, more than \(limit)")
        }
        guard parameterCount <= Double(Self.maximumParameters) else {
            throw fail("base width \(baseWidth), depth \(depth): \(Int(parameterCount)) parameters, more than the "
                + "limit of \(Self.maximumParameters)")
        }
        if upsampling == .bilinear, baseWidth % 2 != 0 {
            throw fail("bilinear up-sampling halves the channels: base width \(baseWidth) must be even")
        }
        if layout == .labml, batchNorm || upsampling == .bilinear {
            throw fail("the labml layout has no batch norm and up-samples with ConvTranspose2d")
        }
    }

    public var description: String {
        "\(layout.rawValue) layout: \(inputChannels) input channels, \(classes) classes, base width \(baseWidth), depth \(depth), "
            + "\(padding.rawValue) padding, \(merge == .pad ? "pad up-sampled" : "crop skip"), \(concatOrder.rawValue), "
            + "batch norm \(batchNorm ? "yes" : "no"), conv bias \(convolutionBias ? "yes" : "no"), \(upsampling.rawValue) up-sampling"
    }
}
