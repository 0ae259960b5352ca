import Execution
import Graph

/// How `Predictor` runs a network over an image.
public struct PredictionOptions: Sendable {
    /// The side of the square network input for sliding-window prediction; nil predicts whole images (images
    /// above `automaticTilingPixels` are then tiled anyway, at `automaticTile`).
    public var tile: Int?
    /// The window's width where it differs from `tile` (nnU-Net's patches are not square); nil: square.
    public var tileWidth: Int?
    /// The least fraction of a window its neighbour shares (0.25: MONAI's default; nnU-Net uses 0.5).
    public var overlap: Double = 0.25
    /// nnU-Net's padding (`ModelMetadata.padsToWindow`): a side shorter than the window is padded with zeros to it,
    /// centred, instead of mirrored up to a size the network takes.
    public var padsToWindow = false
    public var blending: Blending = .gaussian
    /// Test-time augmentation: average the logits over horizontal, vertical and both flips.
    public var flips = false
    /// Windows per forward pass.
    public var batchSize = 4
    /// How many compiled networks (one per input shape) are kept: 2 for prediction (the full and the last batch), more
    /// for a server whose batches vary in size.
    public var compiledShapes = 2
    public var precision: Precision = .fp32
    /// The int8 convolutions and their input ranges (a quantized model's, `unet quantize`); nil: float32 throughout.
    public var quantization: Quantization?
    /// Whole images with more pixels than this are tiled, so memory stays bounded by the window.
    public var automaticTilingPixels = 2048 * 2048
    /// The window side used when tiling automatically (rounded to what the network takes).
    public var automaticTile = 512

    public init() {}
}
