/// The activation of a MONAI network's `ADN` blocks (its `act` option). Only PReLU has a parameter (`adn.A.weight`);
/// the others leave no trace in the weights, so a checkpoint's activation is given (`--act`) where it is not the
/// network's default. Written as `--act` takes it: `prelu`, `relu`, `leakyrelu` (PyTorch's slope 0.01) or
/// `leakyrelu:SLOPE`.
public enum MONAIActivation: Hashable, Sendable, Codable, LosslessStringConvertible {
    /// `act="prelu"`: `torch.nn.PReLU()` with one shared slope, MONAI `UNet`'s default.
    case prelu
    /// `act="relu"`.
    case relu
    /// `act=("leakyrelu", {"negative_slope": slope})`; `BasicUNet`'s default is 0.1.
    case leakyReLU(Float)

    /// `prelu`, `relu`, `leakyrelu` (0.01) or `leakyrelu:SLOPE` (a finite slope in [0, 1]); nil for anything else.
    public init?(_ text: String) {
        let parts = text.lowercased().split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        switch (parts[0], parts.count) {
        case ("prelu", 1): self = .prelu
        case ("relu", 1): self = .relu
        case ("leakyrelu", 1): self = .leakyReLU(0.01)
        case ("leakyrelu", _):
            guard let slope = Float(parts[1]), slope.isFinite, (0...1).contains(slope) else { return nil }
            self = .leakyReLU(slope)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .prelu: "prelu"
        case .relu: "relu"
        case .leakyReLU(let slope): "leakyrelu:\(slope)"
        }
    }

    /// PyTorch's name for it (`PReLU`, `ReLU`, `LeakyReLU(0.1)`).
    public var phrase: String {
        switch self {
        case .prelu: "PReLU"
        case .relu: "ReLU"
        case .leakyReLU(let slope): "LeakyReLU(\(slope))"
        }
    }

    /// The activation of a network whose first block's PReLU weight would be `key` (present: `shape`), and the one
    /// given (`--act`), which must agree with the weights: PReLU where the key is there (one shared slope), else the
    /// given one, else `fallback` (nil: none can be assumed).
    /// - Throws: `UNetError.incompatibleCheckpoint` for a given activation the weights contradict, a per-channel PReLU,
    ///   or none given where there is no fallback, naming the flag.
    public static func detect(key: String, shape: [Int]?, given: MONAIActivation?, fallback: MONAIActivation?, network: String)
        throws(UNetError) -> MONAIActivation
    {
        if let shape {
            guard shape == [1] else { throw .incompatibleCheckpoint("a \(network) with a per-channel PReLU (\(key) \(shape)); one shared slope is built") }
            if let given, given != .prelu { throw .incompatibleCheckpoint("--act \(given): the file's \(key) shows PReLU") }
            return .prelu
        }
        if given == .prelu { throw .incompatibleCheckpoint("--act prelu: the file has no \(key), which PReLU has") }
        guard let activation = given ?? fallback else {
            throw .incompatibleCheckpoint("a \(network) without PReLU parameters (no \(key)): its activation leaves no trace in the weights; "
                + "give --act \(choices.replacingOccurrences(of: "prelu|", with: ""))")
        }
        return activation
    }

    /// The flag's values, for help and errors.
    public static let choices = "prelu|relu|leakyrelu[:slope]"

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = MONAIActivation(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "activation \(text) is not \(Self.choices)"))
        }
        self = value
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
