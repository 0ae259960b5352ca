import NN
import Tensors

/// Deep supervision for a classic `UNet`, which has only its full-resolution head: a 1x1 convolution to class logits
/// after each decoder step below the full resolution (`UNet.decoders[0..<depth-1]`), as nnU-Net's decoders have
/// (`seg_layers`). The heads are trained alongside the network and are never part of its checkpoint: the model keeps
/// its own layout, and inference reads `outc` alone. `UNet.deepSupervisionGraph(inputShape:heads:)` reads them.
///
/// Keys: `"<i>.weight"`, `"<i>.bias"`, `i` the decoder step (deepest first, as `UNet.decoders`); under `prefix` in a
/// graph and in a training checkpoint. Step `i` maps `UNet.decoders[i]`'s output channels to the model's classes.
public final class UNetDeepSupervisionHeads: Module {
    /// The 1x1 convolutions, deepest decoder step first.
    public let heads: [Conv2d]
    public var isTraining = true

    /// The prefix of the heads' keys in a graph's parameters and a training checkpoint.
    public static let prefix = "deep_supervision."

    public var namedChildren: [(String, any Module)] { heads.enumerated().map { ("\($0.offset)", $0.element) } }

    /// Heads for `model`, initialised as PyTorch initialises a `Conv2d`.
    /// - Throws: `UNetError.unsupported` for a network whose lower decoder outputs do not line up with its input (valid
    ///   padding) or whose only lower step would weigh 0 (depth below 3): `problem(_:)`.
    public init(for model: UNet, generator: inout SeededGenerator) throws(UNetError) {
        if let problem = Self.problem(model.configuration) { throw .unsupported("deep supervision: " + problem) }
        heads = model.decoders.dropLast().map {
            Conv2d(inputChannels: $0.conv2.weight.value.shape[0], outputChannels: model.configuration.classes, kernelSize: 1,
                   generator: &generator)
        }
    }

    /// Why a classic U-Net of `configuration` cannot train with these heads; nil where it can.
    public static func problem(_ configuration: UNetConfiguration) -> String? {
        if configuration.padding == .valid {
            return "a U-Net with valid padding crops every level differently, so its lower decoder outputs "
                + "do not line up with the masks resized to them; it needs --padding same"
        }
        if configuration.depth < 3 {
            return "a U-Net of depth \(configuration.depth) has no decoder step below the full resolution that nnU-Net's loss weights score "
                + "(the lowest weighs 0); it needs --depth 3 or more"
        }
        return nil
    }
}
