import Tensors

/// Which network a model is: the configuration of one of the families this project builds.
public enum Architecture: Equatable, Sendable, CustomStringConvertible {
    /// The classic U-Net (milesial, labml, the tutorials, the paper).
    case unet(UNetConfiguration)
    /// segmentation_models_pytorch's `Unet` with a ResNet encoder.
    case smpUNet(SMPUNetConfiguration)
    /// MONAI's `BasicUNet`.
    case basicUNet(BasicUNetConfiguration)
    /// MONAI's `UNet`.
    case monaiUNet(MONAIUNetConfiguration)
    /// nnU-Net v2's 2-D `PlainConvUNet`.
    case plainConvUNet(PlainConvUNetConfiguration)
    /// nnU-Net v2's 2-D `ResidualEncoderUNet` (the ResEnc presets).
    case residualEncoderUNet(ResidualEncoderUNetConfiguration)

    /// The classic U-Net's configuration; nil for the other families.
    public var unetConfiguration: UNetConfiguration? {
        if case .unet(let c) = self { c } else { nil }
    }

    public var inputChannels: Int {
        switch self {
        case .unet(let c): c.inputChannels
        case .smpUNet(let c): c.inputChannels
        case .basicUNet(let c): c.inputChannels
        case .monaiUNet(let c): c.inputChannels
        case .plainConvUNet(let c): c.inputChannels
        case .residualEncoderUNet(let c): c.inputChannels
        }
    }

    public var classes: Int {
        switch self {
        case .unet(let c): c.classes
        case .smpUNet(let c): c.classes
        case .basicUNet(let c): c.classes
        case .monaiUNet(let c): c.classes
        case .plainConvUNet(let c): c.classes
        case .residualEncoderUNet(let c): c.classes
        }
    }

    /// The same network with MONAI's `dropout` at `rate` (MONAI's `UNet` and `BasicUNet`).
    /// - Throws: `UNetError.invalidConfiguration` for another family, or a rate outside [0, 1).
    public func with(dropout rate: Float) throws(UNetError) -> Architecture {
        switch self {
        case .monaiUNet(var c):
            c.dropout = rate
            try c.validate()
            return .monaiUNet(c)
        case .basicUNet(var c):
            c.dropout = rate
            try c.validate()
            return .basicUNet(c)
        default:
            throw .invalidConfiguration("dropout: \(self) has none; MONAI's UNet and BasicUNet have")
        }
    }

    /// The same network with an EfficientNet encoder's stochastic depth at `rate` (smp's Unet).
    /// - Throws: `UNetError.invalidConfiguration` for another family or encoder, or a rate outside [0, 1).
    public func with(dropPath rate: Float) throws(UNetError) -> Architecture {
        guard case .smpUNet(var c) = self else {
            throw .invalidConfiguration("drop path: \(self) has none; smp's Unet with an EfficientNet encoder has")
        }
        c.dropPath = rate
        try c.validate()
        return .smpUNet(c)
    }

    /// The same network with another number of classes (fine-tuning to another label set).
    public func with(classes: Int) -> Architecture {
        switch self {
        case .unet(var c):
            c.classes = classes
            return .unet(c)
        case .smpUNet(var c):
            c.classes = classes
            return .smpUNet(c)
        case .basicUNet(var c):
            c.classes = classes
            return .basicUNet(c)
        case .monaiUNet(var c):
            c.classes = classes
            return .monaiUNet(c)
        case .plainConvUNet(var c):
            c.classes = classes
            return .plainConvUNet(c)
        case .residualEncoderUNet(var c):
            c.classes = classes
            return .residualEncoderUNet(c)
        }
    }

    /// How much the network shrinks the input on its way to the deepest map (`2^depth` for the U-Nets that halve at
    /// each level): inputs that are multiples of it run without padding. For an nnU-Net network whose strides differ
    /// between the axes, a multiple of both of `downsamplingPerAxis`.
    public var downsampling: Int {
        switch self {
        case .unet(let c): 1 << c.depth
        case .smpUNet(let c): 1 << c.encoderDepth
        case .basicUNet: 16
        case .monaiUNet(let c): c.sizeMultiple
        case .plainConvUNet(let c): c.sizeMultiple
        case .residualEncoderUNet(let c): c.sizeMultiple
        }
    }

    /// `downsampling` along the height and the width (`[height, width]`): they differ only for nnU-Net networks planned
    /// with strides that differ between the axes.
    public var downsamplingPerAxis: [Int] {
        switch self {
        case .plainConvUNet(let c): c.sizeMultiples
        case .residualEncoderUNet(let c): c.sizeMultiples
        case .unet, .smpUNet, .basicUNet, .monaiUNet: [downsampling, downsampling]
        }
    }

    /// Whether the network normalises with batch statistics in training (then a batch must hold more than one value
    /// per channel at the deepest level).
    public var hasBatchNorm: Bool {
        switch self {
        case .unet(let c): c.batchNorm
        case .smpUNet: true
        case .basicUNet(let c): c.norm == .batch
        case .monaiUNet(let c): c.norm == .batch
        case .plainConvUNet, .residualEncoderUNet: false
        }
    }

    /// The heads besides the full-resolution one that deep supervision trains (`SegmentationModel.deepSupervisionGraph`):
    /// one per lower decoder stage of nnU-Net's networks, none for the others.
    public var deepSupervisionHeads: Int {
        switch self {
        case .unet, .smpUNet, .basicUNet, .monaiUNet: 0
        case .plainConvUNet(let c): max(c.features.count - 2, 0)
        case .residualEncoderUNet(let c): max(c.features.count - 2, 0)
        }
    }

    /// Why deep supervision cannot train this network; nil where it can: nnU-Net's networks with lower-resolution heads
    /// of their own, and a classic U-Net that takes added ones (`UNetDeepSupervisionHeads.problem`).
    public var deepSupervisionProblem: String? {
        if case .unet(let c) = self { return UNetDeepSupervisionHeads.problem(c) }
        return deepSupervisionHeads > 0 ? nil
            : "\(self) has no lower-resolution heads (unet models take added ones, nnunet models with 3 or more stages have their own)"
    }

    /// The number of trainable parameters, counted from the configuration before anything is allocated.
    public var parameterCount: Double {
        switch self {
        case .unet(let c): c.parameterCount
        case .smpUNet(let c): c.parameterCount
        case .basicUNet(let c): c.parameterCount
        case .monaiUNet(let c): c.parameterCount
        case .plainConvUNet(let c): c.parameterCount
        case .residualEncoderUNet(let c): c.parameterCount
        }
    }

    /// The smallest input side length the network accepts whatever the other side (instance norm needs more than one
    /// value per channel at the deepest level, so networks with it take twice `smallestSide`).
    public var minimumInputSize: Int { hasInstanceNorm ? 2 * smallestSide : smallestSide }

    /// `minimumInputSize` along the height and the width (`[height, width]`), each the smallest that side takes whatever
    /// the other: they differ only for nnU-Net networks whose strides differ between the axes (each axis' own product,
    /// twice for instance norm).
    public var minimumInputSizePerAxis: [Int] {
        switch self {
        case .plainConvUNet, .residualEncoderUNet: downsamplingPerAxis.map { hasInstanceNorm ? 2 * $0 : $0 }
        case .unet, .smpUNet, .basicUNet, .monaiUNet: [minimumInputSize, minimumInputSize]
        }
    }

    /// The smallest side length the network takes where the other side is long enough: one value across the deepest
    /// map (16 for BasicUNet's four poolings, which round down; the strides' product for MONAI's `UNet` and nnU-Net's).
    public var smallestSide: Int {
        switch self {
        case .unet(let c): c.minimumInputSize
        case .smpUNet(let c): c.smallestSide
        case .basicUNet: BasicUNetConfiguration.minimumInputSize
        case .monaiUNet(let c): c.sizeMultiple
        case .plainConvUNet(let c): c.sizeMultiple
        case .residualEncoderUNet(let c): c.sizeMultiple
        }
    }

    /// Whether the network normalizes by instance norm, which needs more than one value per channel in every map.
    public var hasInstanceNorm: Bool {
        switch self {
        case .unet, .smpUNet: false
        case .basicUNet(let c): c.norm.isInstanceNorm
        case .monaiUNet(let c): c.norm.isInstanceNorm
        case .plainConvUNet, .residualEncoderUNet: true
        }
    }

    /// - Throws: `UNetError.invalidConfiguration` naming the option out of range.
    public func validate() throws(UNetError) {
        switch self {
        case .unet(let c): try c.validate()
        case .smpUNet(let c): try c.validate()
        case .basicUNet(let c): try c.validate()
        case .monaiUNet(let c): try c.validate()
        case .plainConvUNet(let c): try c.validate()
        case .residualEncoderUNet(let c): try c.validate()
        }
    }

    /// Refuses a batch whose feature maps could not fit in this machine's memory, before allocating them.
    /// - Throws: `UNetError.invalidInput` with the sizes and the memory.
    public func checkMemory(batch: Int, height: Int, width: Int, training: Bool) throws(UNetError) {
        let needed: Double
        switch self {
        case .unet(let c): needed = c.activationBytesEstimate(batch: batch, height: height, width: width, training: training)
        case .smpUNet(let c): needed = c.activationBytesEstimate(batch: batch, height: height, width: width, training: training)
        case .basicUNet(let c): needed = c.activationBytesEstimate(batch: batch, height: height, width: width, training: training)
        case .monaiUNet(let c): needed = c.activationBytesEstimate(batch: batch, height: height, width: width, training: training)
        case .plainConvUNet(let c): needed = c.activationBytesEstimate(batch: batch, height: height, width: width, training: training)
        case .residualEncoderUNet(let c): needed = c.activationBytesEstimate(batch: batch, height: height, width: width, training: training)
        }
        try UNetConfiguration.check(needed, "a batch of \(batch) image(s) of \(width)x\(height) needs about %.0f GB of feature maps to "
            + (training ? "train" : "predict"))
    }

    /// Refuses an image whose class scores could not fit in this machine's memory.
    public func checkOutputMemory(height: Int, width: Int) throws(UNetError) {
        try UNetConfiguration.checkOutputMemory(classes: classes, height: height, width: width)
    }

    /// A randomly initialised network (PyTorch's default initialisation).
    /// - Throws: `UNetError.invalidConfiguration` for options that do not fit together.
    public func makeModel(generator: inout SeededGenerator) throws(UNetError) -> any SegmentationModel {
        switch self {
        case .unet(let c): try UNet(c, generator: &generator)
        case .smpUNet(let c): try SMPUNet(c, generator: &generator)
        case .basicUNet(let c): try BasicUNet(c, generator: &generator)
        case .monaiUNet(let c): try MONAIUNet(c, generator: &generator)
        case .plainConvUNet(let c): try PlainConvUNet(c, generator: &generator)
        case .residualEncoderUNet(let c): try ResidualEncoderUNet(c, generator: &generator)
        }
    }

    public var description: String {
        switch self {
        case .unet(let c): c.description
        case .smpUNet(let c): c.description
        case .basicUNet(let c): c.description
        case .monaiUNet(let c): c.description
        case .plainConvUNet(let c): c.description
        case .residualEncoderUNet(let c): c.description
        }
    }
}
