/// Architecture options a user gave explicitly (command-line flags), each nil when not given. They complete
/// what a foreign checkpoint leaves open (a tutorial checkpoint's padding, or the whole architecture for
/// matching by shape), and are checked against what a native model file records: a native file's own
/// architecture wins, and a flag that contradicts it is an error, not a silent rebuild.
public struct ArchitectureOverrides: Sendable, Equatable {
    public var layout: UNetConfiguration.Layout?
    public var inputChannels: Int?
    public var classes: Int?
    public var baseWidth: Int?
    public var depth: Int?
    public var padding: UNetConfiguration.Padding?
    public var merge: UNetConfiguration.SkipMerge?
    public var concatOrder: UNetConfiguration.ConcatOrder?
    public var batchNorm: Bool?
    public var convolutionBias: Bool?
    public var upsampling: UNetConfiguration.Upsampling?
    /// A MONAI `UNet`'s strides, which its checkpoints do not record (checked against an nnU-Net network's, which
    /// its transposed convolutions do).
    public var strides: [Int]?
    /// A MONAI `UNet`'s or `BasicUNet`'s norm, which its keys show unless it has no parameters (instance norm without
    /// affine parameters, or none).
    public var norm: MONAINorm?
    /// A MONAI `UNet`'s or `BasicUNet`'s activation, which its weights show only for PReLU.
    public var activation: MONAIActivation?
    /// An smp `Unet`'s `decoder_interpolation`, which its weights do not show.
    public var decoderInterpolation: SMPUNetConfiguration.DecoderInterpolation?

    public init(layout: UNetConfiguration.Layout? = nil, inputChannels: Int? = nil, classes: Int? = nil,
                baseWidth: Int? = nil, depth: Int? = nil, padding: UNetConfiguration.Padding? = nil,
                merge: UNetConfiguration.SkipMerge? = nil, concatOrder: UNetConfiguration.ConcatOrder? = nil,
                batchNorm: Bool? = nil, convolutionBias: Bool? = nil, upsampling: UNetConfiguration.Upsampling? = nil,
                strides: [Int]? = nil, norm: MONAINorm? = nil, activation: MONAIActivation? = nil,
                decoderInterpolation: SMPUNetConfiguration.DecoderInterpolation? = nil) {
        (self.layout, self.inputChannels, self.classes, self.baseWidth, self.depth) = (layout, inputChannels, classes, baseWidth, depth)
        (self.padding, self.merge, self.concatOrder) = (padding, merge, concatOrder)
        (self.batchNorm, self.convolutionBias, self.upsampling, self.strides) = (batchNorm, convolutionBias, upsampling, strides)
        (self.norm, self.activation, self.decoderInterpolation) = (norm, activation, decoderInterpolation)
    }

    /// True when nothing was given.
    public var isEmpty: Bool { self == ArchitectureOverrides() }

    /// The defaults of the given layout (milesial's when none), with the given options applied.
    public var configuration: UNetConfiguration {
        let base: UNetConfiguration =
            switch layout ?? .milesial {
            case .milesial: .milesial()
            case .labml: .labml()
            case .tutorial: .tutorial()
            }
        return applied(to: base)
    }

    /// `configuration` with every given option set.
    public func applied(to configuration: UNetConfiguration) -> UNetConfiguration {
        var c = configuration
        c.layout = layout ?? c.layout
        c.inputChannels = inputChannels ?? c.inputChannels
        c.classes = classes ?? c.classes
        c.baseWidth = baseWidth ?? c.baseWidth
        c.depth = depth ?? c.depth
        c.padding = padding ?? c.padding
        c.merge = merge ?? c.merge
        c.concatOrder = concatOrder ?? c.concatOrder
        c.batchNorm = batchNorm ?? c.batchNorm
        c.convolutionBias = convolutionBias ?? c.convolutionBias
        c.upsampling = upsampling ?? c.upsampling
        return c
    }

    /// One phrase per given option that differs from `configuration`: `"base width 64 (the file has 32)"`.
    public func contradictions(with configuration: UNetConfiguration) -> [String] {
        let c = configuration
        var found: [String] = []
        func check<T: Equatable>(_ name: String, _ given: T?, _ actual: T, _ text: (T) -> String) {
            if let given, given != actual { found.append("\(name) \(text(given)) (the file has \(text(actual)))") }
        }
        check("layout", layout, c.layout, \.rawValue)
        check("input channels", inputChannels, c.inputChannels, String.init)
        check("classes", classes, c.classes, String.init)
        check("base width", baseWidth, c.baseWidth, String.init)
        check("depth", depth, c.depth, String.init)
        check("padding", padding, c.padding, \.rawValue)
        check("merge", merge, c.merge, \.rawValue)
        check("concatenation", concatOrder, c.concatOrder, \.rawValue)
        check("batch norm", batchNorm, c.batchNorm) { $0 ? "on" : "off" }
        check("bias", convolutionBias, c.convolutionBias) { $0 ? "on" : "off" }
        check("up-sampling", upsampling, c.upsampling, \.rawValue)
        if strides != nil { found.append("strides (a classic U-Net has none)") }
        if norm != nil { found.append("norm (a classic U-Net's is --batch-norm)") }
        if activation != nil { found.append("activation (a classic U-Net's is ReLU)") }
        if decoderInterpolation != nil { found.append("decoder interpolation (a classic U-Net's is --bilinear)") }
        return found
    }

    /// The phrases of `contradictions(with:)` for a network of another family (smp, MONAI): input channels and classes
    /// must agree, and every classic U-Net option is one (the file is not a classic U-Net).
    public func contradictions(withForeign architecture: Architecture) -> [String] {
        var found: [String] = []
        if let inputChannels, inputChannels != architecture.inputChannels {
            found.append("input channels \(inputChannels) (the file has \(architecture.inputChannels))")
        }
        if let classes, classes != architecture.classes { found.append("classes \(classes) (the file has \(architecture.classes))") }
        // A peer's option: given, it must be the network's (`actual`), and the network must have it (nil: it has not).
        func check<T: Equatable>(_ name: String, _ given: T?, _ actual: T?, _ text: (T) -> String) {
            guard let given else { return }
            if let actual {
                if actual != given { found.append("\(name) \(text(given)) (the file has \(text(actual)))") }
            } else {
                found.append("\(name) (\(architecture) has none to set)")
            }
        }
        let actualStrides: String? = switch architecture {
        case .monaiUNet(let c): Self.list(c.strides)
        case .plainConvUNet(let c): c.stridesText()
        case .residualEncoderUNet(let c): c.stridesText()
        case .unet, .smpUNet, .basicUNet: nil
        }
        check("strides", strides.map(Self.list), actualStrides, { $0 })
        let actualNorm: MONAINorm? = switch architecture {
        case .monaiUNet(let c): c.norm
        case .basicUNet(let c): c.norm
        case .unet, .smpUNet, .plainConvUNet, .residualEncoderUNet: nil
        }
        check("norm", norm, actualNorm, \.rawValue)
        let actualActivation: MONAIActivation? = switch architecture {
        case .monaiUNet(let c): c.activation
        case .basicUNet(let c): c.activation
        case .unet, .smpUNet, .plainConvUNet, .residualEncoderUNet: nil
        }
        check("activation", activation, actualActivation, \.description)
        let actualInterpolation: SMPUNetConfiguration.DecoderInterpolation? = if case .smpUNet(let c) = architecture { c.decoderInterpolation } else { nil }
        check("decoder interpolation", decoderInterpolation, actualInterpolation, \.rawValue)
        var classic = self
        (classic.inputChannels, classic.classes, classic.strides, classic.norm, classic.activation, classic.decoderInterpolation) =
            (nil, nil, nil, nil, nil, nil)
        if !classic.isEmpty { found.append("classic U-Net options (the file is \(architecture))") }
        return found
    }

    /// `[2, 3]` as `2,3`, as the flag takes them.
    static func list(_ values: [Int]) -> String { values.map(String.init).joined(separator: ",") }
}
