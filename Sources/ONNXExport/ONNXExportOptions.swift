/// How `ONNXExporter` writes a model.
public struct ONNXExportOptions: Sendable, Equatable {
    /// The ONNX operator set the graph is written in (`ai.onnx`); `supportedOpsets` lists those it can be.
    public var opset: Int
    /// Folds each eval-mode batch norm into the convolution before it (`w·γ/√(σ²+ε)`, `(b − μ)·γ/√(σ²+ε) + β`)
    /// instead of writing `BatchNormalization` nodes.
    public var foldBatchNorm: Bool
    /// Batch, height and width are symbolic (`batch`, `height`, `width`): the graph computes the sizes its
    /// up-samplings, paddings and crops need from the shapes it is given. Else the input is fixed at `inputShape`.
    public var dynamic: Bool
    /// `(N, C, H, W)` of a fixed-shape export (ignored by a dynamic one).
    public var inputShape: [Int]
    /// Every weight in a file beside the model (`<model>.data`, ONNX's external data) instead of inside it. Models
    /// whose weights exceed `ONNXExporter.embeddedLimit` are written this way whatever this says.
    public var externalData: Bool

    public static let defaultOpset = 17
    /// 15: `Shape` with `start`/`end`; 21: the newest ONNX Runtime and OpenVINO both read.
    public static let supportedOpsets = 15...21

    public init(opset: Int = defaultOpset, foldBatchNorm: Bool = false, dynamic: Bool = false, inputShape: [Int],
                externalData: Bool = false) {
        (self.opset, self.foldBatchNorm, self.dynamic) = (opset, foldBatchNorm, dynamic)
        (self.inputShape, self.externalData) = (inputShape, externalData)
    }
}
