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

    /// Features 1 to `depth` of input `x` as graph values, parameters named `prefix` + the encoder's keys.
    func features(_ b: GraphBuilder, _ x: Graph.Value, depth: Int, prefix: String) throws -> [Graph.Value]
}
