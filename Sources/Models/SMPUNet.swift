import NN
import Tensors

/// segmentation_models_pytorch's `Unet` with one of the encoders `SMPEncoder` names, key for key (smp 0.6.0): `encoder.*`
/// is a torchvision ResNet, a pretrainedmodels SE-ResNet, an efficientnet-pytorch or timm EfficientNet or a torchvision
/// MobileNetV2, `decoder.blocks.{i}.conv{1,2}.{0,1}` the decoder's Conv-BN-ReLU pairs, `segmentation_head.0` a 3x3
/// convolution to logits; with `decoder_attention_type="scse"`, `decoder.blocks.{i}.attention{1,2}.attention` the
/// blocks' `SCSEModule`s. `graph(inputShape:)` describes the computation, which the engine runs.
///
///     x (N, C_in, H, W) → encoder features 1 … encoderDepth (H/2, H/4, …; a ResNet: stem, pool + layer1, layer2 …)
///     decoder block i: nearest up-sampling to the next shallower feature's size, [up, skip] concatenated (→ scse),
///     (3x3 conv → BN → ReLU) × 2 (→ scse); the last block has no skip (its attention1 is kept but never applied, as
///     in smp) and ends at H × W → 3x3 head → logits (N, classes, H, W)
public final class SMPUNet: Module {
    public let configuration: SMPUNetConfiguration
    /// `ResNetEncoder`, `SENetEncoder`, `EfficientNetEncoder`, `TimmEfficientNetEncoder` or `MobileNetV2Encoder`, as
    /// `configuration.encoder` names.
    public let encoder: any SMPUNetEncoder
    /// Decoder blocks, deepest first: `(conv1, conv2)`.
    public let decoder: [(Conv2dReLU, Conv2dReLU)]
    /// The decoder blocks' attention with `decoderAttention == .scse`, deepest first: `(attention1, attention2)`, after
    /// the concatenation and after `conv2`; empty without.
    public let attention: [(SCSEModule, SCSEModule)]
    /// smp's `SegmentationHead`: 3x3, padding 1, with bias.
    public let head: Conv2d
    public var isTraining = true

    /// The keys of smp's optional classification head (`aux_params`), which this project does not build: the masks
    /// do not depend on it.
    public static let classificationHeadPrefix = "classification_head."

    public var namedChildren: [(String, any Module)] {
        var children: [(String, any Module)] = [("encoder", encoder)]
        for (i, (conv1, conv2)) in decoder.enumerated() {
            let key = "decoder.blocks.\(i)"
            if attention.isEmpty {
                children += [(key + ".conv1", conv1), (key + ".conv2", conv2)]
            } else {
                let (attention1, attention2) = attention[i]
                children += [(key + ".conv1", conv1), (key + ".attention1.attention", attention1), (key + ".conv2", conv2),
                             (key + ".attention2.attention", attention2)]
            }
        }
        return children + [("segmentation_head.0", head)]
    }

    /// A randomly initialised network (PyTorch's default initialisation).
    /// - Throws: `UNetError.invalidConfiguration` for options out of range.
    public init(_ configuration: SMPUNetConfiguration, generator: inout SeededGenerator) throws(UNetError) {
        try configuration.validate()
        self.configuration = configuration
        encoder = configuration.encoder.module(inputChannels: configuration.inputChannels, dropPathRate: configuration.dropPath ?? 0,
                                               generator: &generator)
        decoder = configuration.decoderChannels.enumerated().map { i, width in
            let (input, skip) = configuration.decoderInputs(i)
            return (Conv2dReLU(inputChannels: input + skip, outputChannels: width, kernelSize: 3, padding: 1, generator: &generator),
                    Conv2dReLU(inputChannels: width, outputChannels: width, kernelSize: 3, padding: 1, generator: &generator))
        }
        attention = configuration.decoderAttention == nil ? [] : configuration.decoderChannels.indices.map { i in
            let (input, skip) = configuration.decoderInputs(i)
            return (SCSEModule(channels: input + skip, generator: &generator),
                    SCSEModule(channels: configuration.decoderChannels[i], generator: &generator))
        }
        head = Conv2d(inputChannels: configuration.decoderChannels.last!, outputChannels: configuration.classes, kernelSize: 3,
                      padding: 1, generator: &generator)
    }

    /// Checks `x` is `(N, inputChannels, H, W)` with at least one pixel.
    public func checkInput(_ shape: [Int]) throws(UNetError) {
        let c = configuration.inputChannels
        guard shape.count == 4, shape.allSatisfy({ $0 >= 1 }) else { throw .invalidInput("expected (N, \(c), H, W), got \(shape)") }
        guard shape[1] == c else { throw .invalidInput("the model takes \(c) input channels, got \(shape[1]) in \(shape)") }
    }
}
