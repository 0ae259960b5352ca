import Graph
import NN

/// An encoder of smp's `Unet` (`ResNetEncoder`, `SENetEncoder`, `EfficientNetEncoder`, `TimmEfficientNetEncoder`,
/// `MobileNetV2Encoder`): a module whose state dict sits under `encoder.` and whose features, shallowest first, the
/// decoder reads.
public protocol SMPUNetEncoder: Module {
    /// The network the encoder's weights come from, for messages: "a torchvision resnet34".
    var weightsDescription: String { get }
    /// The stem convolution's weight key, which smp adapts to other than 3 input channels (`patch_first_conv`).
    var stemKey: String { get }
    /// The key prefix of the classifier an ImageNet weights file adds (`fc.`), which smp drops.
    var classifierPrefix: String { get }
    /// The RGB mean and std of the images the encoder's ImageNet weights were trained on (ImageNet's, unless the
    /// weights' own package says otherwise).
    var pretrainedMeanStd: (mean: [Float], std: [Float]) { get }

    /// The encoder's own key for `key` of a weights file (without smp's `encoder.` prefix), where the network's
    /// weights are also published under another package's names; `key` itself otherwise.
    func ownKey(pretrained key: String) -> String

    /// Features 1 to `depth` of input `x` as graph values, parameters named `prefix` + the encoder's keys.
    func features(_ b: GraphBuilder, _ x: Graph.Value, depth: Int, prefix: String) throws -> [Graph.Value]
}

extension SMPUNetEncoder {
    /// ImageNet's RGB mean and std, as torchvision normalizes its images.
    public static var imageNetMeanStd: (mean: [Float], std: [Float]) { ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]) }

    public var pretrainedMeanStd: (mean: [Float], std: [Float]) { Self.imageNetMeanStd }

    public func ownKey(pretrained key: String) -> String { key }

    /// `pretrainedMeanStd` for `inputChannels` channels, as the stem's weight is adapted (`loadPretrained`): one channel
    /// takes the averages of RGB's, otherwise channel `i` takes RGB channel `i mod 3`'s.
    public func pretrainedNormalization(inputChannels: Int) -> (mean: [Float], std: [Float]) {
        let (mean, std) = pretrainedMeanStd
        guard inputChannels != 1 else { return ([mean.reduce(0, +) / 3], [std.reduce(0, +) / 3]) }
        return ((0..<inputChannels).map { mean[$0 % 3] }, (0..<inputChannels).map { std[$0 % 3] })
    }
}
