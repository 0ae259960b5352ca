import NN
import Tensors

/// segmentation_models_pytorch's `SCSEModule` (concurrent spatial and channel squeeze-and-excitation, reduction 16),
/// smp's decoder attention: `x · cSE(x) + x · sSE(x)` for `x` of `(N, C, H, W)`, where `cSE` is a global average pool,
/// a 1x1 convolution to `C / 16` channels, ReLU, a 1x1 convolution back to `C` and a sigmoid (a weight per channel,
/// `(N, C, 1, 1)`), and `sSE` a 1x1 convolution to one channel and a sigmoid (a weight per pixel, `(N, 1, H, W)`).
/// Keys: `cSE.1`, `cSE.3`, `sSE.0` (weights and biases).
public final class SCSEModule: Module {
    /// smp's reduction: the channel gate's hidden width is `C / 16`.
    public static let reduction = 16

    /// `cSE.1`: `C` → `C / 16`.
    public let squeeze: Conv2d
    /// `cSE.3`: `C / 16` → `C`.
    public let excite: Conv2d
    /// `sSE.0`: `C` → 1.
    public let spatial: Conv2d
    public var isTraining = true

    public var namedChildren: [(String, any Module)] { [("cSE.1", squeeze), ("cSE.3", excite), ("sSE.0", spatial)] }

    /// - Parameter channels: `C`, at least `reduction`.
    public init(channels: Int, generator: inout SeededGenerator) {
        let hidden = channels / Self.reduction
        squeeze = Conv2d(inputChannels: channels, outputChannels: hidden, kernelSize: 1, generator: &generator)
        excite = Conv2d(inputChannels: hidden, outputChannels: channels, kernelSize: 1, generator: &generator)
        spatial = Conv2d(inputChannels: channels, outputChannels: 1, kernelSize: 1, generator: &generator)
    }

    /// The number of parameters of a module of `channels` channels.
    public static func parameterCount(channels: Int) -> Double {
        let (c, h) = (Double(channels), Double(channels / reduction))
        return c * h + h + h * c + c + c + 1
    }
}
