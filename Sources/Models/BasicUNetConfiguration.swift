/// The options of MONAI's `BasicUNet` this project builds (monai 1.6.1, 2-D, `upsample="deconv"`): two 3x3
/// Conv-Norm-LeakyReLU(0.1) blocks per level (another `activation` where given), 2x2 max-pooling down, a 2x2 stride-2 transposed convolution up
/// (halving the channels, except into the top level), the skip concatenated first, and a 1x1 head. The defaults are
/// MONAI's: features `(32, 32, 64, 128, 256, 32)`, instance norm with affine parameters, biases.
public struct BasicUNetConfiguration: Hashable, Sendable, Codable {
    /// MONAI's `features`: the five encoder levels' widths, then the width after the last up-sampling.
    public var features: [Int]
    public var inputChannels: Int
    public var classes: Int
    public var norm: MONAINorm
    /// MONAI's `act` where it is not LeakyReLU(0.1) (nil: the default, stored so that files written before stay as they were).
    public var act: MONAIActivation?
    public var bias: Bool
    /// MONAI's `dropout` in every `TwoConv` convolution's `adn` (nil: none, MONAI's default), in training only: a
    /// checkpoint does not record it.
    public var dropout: Float?

    /// `activation` LeakyReLU(0.1) is stored as nil.
    public init(features: [Int] = [32, 32, 64, 128, 256, 32], inputChannels: Int = 1, classes: Int = 2, norm: MONAINorm = .instanceAffine,
                activation: MONAIActivation = Self.defaultActivation, bias: Bool = true) {
        (self.features, self.inputChannels, self.classes, self.norm, self.bias) = (features, inputChannels, classes, norm, bias)
        act = activation == Self.defaultActivation ? nil : activation
    }

    /// BasicUNet's `act`: LeakyReLU(0.1).
    public static let defaultActivation = MONAIActivation.leakyReLU(0.1)

    /// The blocks' activation.
    public var activation: MONAIActivation { act ?? Self.defaultActivation }

    /// The largest width this project accepts.
    public static let maximumWidth = 4096
    /// Four 2x2 poolings: each needs at least two pixels.
    public static let minimumInputSize = 16

    /// - Throws: `UNetError.invalidConfiguration` naming the option out of range.
    public func validate() throws(UNetError) {
        guard features.count == 6, features.allSatisfy({ (1...Self.maximumWidth).contains($0) }) else {
            throw .invalidConfiguration("features \(features): six widths in 1...\(Self.maximumWidth)")
        }
        guard features[2...4].allSatisfy({ $0 >= 2 }) else {
            throw .invalidConfiguration("features \(features): the up-sampling halves levels 2-4, so they need at least 2 channels")
        }
        guard (1...64).contains(inputChannels) else { throw .invalidConfiguration("\(inputChannels) input channels (1...64)") }
        guard (1...65536).contains(classes) else { throw .invalidConfiguration("\(classes) classes (1...65536)") }
        if let dropout, !(dropout >= 0 && dropout < 1) { throw .invalidConfiguration("dropout \(dropout): in [0, 1)") }
    }

    /// For `upcat_{k}` (k = 4 … 1): the channels going in, those the transposed convolution makes, the skip's, and the
    /// block's output.
    public func upcat(_ k: Int) -> (input: Int, up: Int, skip: Int, output: Int) {
        let input = features[k]
        return (input, k == 1 ? input : input / 2, features[k - 1], k == 1 ? features[5] : features[k - 1])
    }

    /// The number of trainable parameters, counted from the configuration before anything is allocated.
    public var parameterCount: Double {
        func block(_ input: Int, _ output: Int) -> Double {
            Double(input * output * 9 + output * 9 * output) + (bias ? 2 * Double(output) : 0) + (norm.hasParameters ? 4 * Double(output) : 0)
                + (activation == .prelu ? 2 : 0)
        }
        var total = block(inputChannels, features[0])
        for k in 1...4 { total += block(features[k - 1], features[k]) }
        for k in 1...4 {
            let u = upcat(k)
            total += Double(u.input * u.up * 4 + u.up) + block(u.skip + u.up, u.output)
        }
        return total + Double(features[5] * classes + classes)
    }

    /// About how many bytes the feature maps of a batch take, in float32 (see `UNetConfiguration.activationBytesEstimate`).
    public func activationBytesEstimate(batch: Int, height: Int, width: Int, training: Bool) -> Double {
        let pixels = Double(height) * Double(width)
        var total = 0.0
        for level in 0...4 {
            let scale = pixels / Double(1 << (2 * level))
            total += Double(4 * features[level]) * scale
            if level < 4 { total += Double(3 * upcat(level + 1).output + upcat(level + 1).up) * scale }
        }
        let logits = Double(classes) * pixels * (training ? 4 : 2)
        return (total * (training ? 3 : 1.5) + logits) * Double(batch) * 4
    }
}

extension BasicUNetConfiguration: CustomStringConvertible {
    /// `MONAI BasicUNet(features 32-32-64-128-256-32, instance-affine norm, 1 -> 2 classes)`.
    public var description: String {
        "MONAI BasicUNet(features \(features.map(String.init).joined(separator: "-")), \(norm.phrase)\(act.map { ", \($0.phrase)" } ?? "")"
            + "\(bias ? "" : ", no bias")\(dropout.map { $0 > 0 ? ", dropout \($0)" : "" } ?? ""), "
            + "\(inputChannels) -> \(classes) classes)"
    }
}
