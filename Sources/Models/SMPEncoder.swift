import Tensors

/// smp's `encoder_name` for the encoders this project builds: a torchvision ResNet or ResNeXt, a pretrainedmodels
/// SE-ResNet or SE-ResNeXt, an efficientnet-pytorch EfficientNet, a timm EfficientNet or EfficientNet-Lite, or
/// torchvision's MobileNetV2. Coded as smp's name (`"resnet34"`, `"se_resnext50_32x4d"`, `"efficientnet-b4"`,
/// `"timm-efficientnet-b3"`, `"mobilenet_v2"`).
public enum SMPEncoder: Hashable, Sendable, CaseIterable, RawRepresentable, Codable {
    case resnet(ResNetEncoder.Variant)
    case seNet(SENetEncoder.Variant)
    case efficientNet(EfficientNetEncoder.Variant)
    case timmEfficientNet(TimmEfficientNetEncoder.Variant)
    case mobileNetV2

    public static var allCases: [SMPEncoder] {
        ResNetEncoder.Variant.allCases.map(Self.resnet) + SENetEncoder.Variant.allCases.map(Self.seNet)
            + EfficientNetEncoder.Variant.allCases.map(Self.efficientNet)
            + TimmEfficientNetEncoder.Variant.allCases.map(Self.timmEfficientNet) + [.mobileNetV2]
    }

    public init?(rawValue: String) {
        if let v = ResNetEncoder.Variant(rawValue: rawValue) {
            self = .resnet(v)
        } else if let v = SENetEncoder.Variant(rawValue: rawValue) {
            self = .seNet(v)
        } else if let v = EfficientNetEncoder.Variant(rawValue: rawValue) {
            self = .efficientNet(v)
        } else if let v = TimmEfficientNetEncoder.Variant(rawValue: rawValue) {
            self = .timmEfficientNet(v)
        } else if rawValue == Self.mobileNetV2.rawValue {
            self = .mobileNetV2
        } else {
            return nil
        }
    }

    public var rawValue: String {
        switch self {
        case .resnet(let v): v.rawValue
        case .seNet(let v): v.rawValue
        case .efficientNet(let v): v.rawValue
        case .timmEfficientNet(let v): v.rawValue
        case .mobileNetV2: "mobilenet_v2"
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let encoder = Self(rawValue: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "no smp encoder named \(name)")
        }
        self = encoder
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// Channels of features 1-5 (smp's `out_channels` without the input).
    public var featureChannels: [Int] {
        switch self {
        case .resnet(let v): v.featureChannels
        case .seNet: SENetEncoder.Variant.featureChannels
        case .efficientNet(let v): v.featureChannels
        case .timmEfficientNet(let v): v.featureChannels
        case .mobileNetV2: MobileNetV2Encoder.featureChannels
        }
    }

    /// Whether the encoder has stochastic depth (efficientnet-pytorch's drop connect, timm's drop path).
    public var hasDropPath: Bool {
        switch self {
        case .efficientNet, .timmEfficientNet: true
        case .resnet, .seNet, .mobileNetV2: false
        }
    }

    /// The stochastic depth smp builds the encoder with (`drop_connect_rate`, `drop_path_rate`): 0.2 where it has
    /// any, else nil.
    public var smpDropPath: Float? { hasDropPath ? 0.2 : nil }

    /// A randomly initialised encoder; `dropPathRate` for those with stochastic depth (`hasDropPath`).
    public func module(inputChannels: Int, dropPathRate: Float = 0, generator: inout SeededGenerator) -> any SMPUNetEncoder {
        switch self {
        case .resnet(let v): ResNetEncoder(v, inputChannels: inputChannels, generator: &generator)
        case .seNet(let v): SENetEncoder(v, inputChannels: inputChannels, generator: &generator)
        case .efficientNet(let v): EfficientNetEncoder(v, inputChannels: inputChannels, dropPathRate: dropPathRate, generator: &generator)
        case .timmEfficientNet(let v):
            TimmEfficientNetEncoder(v, inputChannels: inputChannels, dropPathRate: dropPathRate, generator: &generator)
        case .mobileNetV2: MobileNetV2Encoder(inputChannels: inputChannels, generator: &generator)
        }
    }
}
