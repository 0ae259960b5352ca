import Graph
import NN

/// A network this project builds, trains and runs: it holds its parameters under its PyTorch package's
/// `state_dict` keys and describes its computation as a graph, which the engine compiles.
public protocol SegmentationModel: Module {
    /// What the network is, enough to build it again.
    var architecture: Architecture { get }
    /// Checks `x` is `(N, C_in, H, W)` of a size the network takes.
    /// - Throws: `UNetError.invalidInput` naming what does not fit.
    func checkInput(_ shape: [Int]) throws(UNetError)
    /// The computation for input `(N, C_in, H, W)`, parameters named by the model's keys.
    func graph(inputShape: [Int]) throws -> Graph
    /// For training with deep supervision: `graph(inputShape:)` with the lower-resolution heads' logits as
    /// `Graph.auxiliaryOutputs`, the largest first (nnU-Net's decoders); nil for a network without such heads.
    func deepSupervisionGraph(inputShape: [Int]) throws -> Graph?
}

extension SegmentationModel {
    public func deepSupervisionGraph(inputShape: [Int]) throws -> Graph? { nil }
}

extension UNet: SegmentationModel {
    public var architecture: Architecture { .unet(configuration) }
}

extension SMPUNet: SegmentationModel {
    public var architecture: Architecture { .smpUNet(configuration) }
}

extension BasicUNet: SegmentationModel {
    public var architecture: Architecture { .basicUNet(configuration) }
}

extension MONAIUNet: SegmentationModel {
    public var architecture: Architecture { .monaiUNet(configuration) }
}

extension PlainConvUNet: SegmentationModel {
    public var architecture: Architecture { .plainConvUNet(configuration) }
}

extension ResidualEncoderUNet: SegmentationModel {
    public var architecture: Architecture { .residualEncoderUNet(configuration) }
}
