/// Spatial up-sampling to a given size. Mirrors `torch.nn.functional.interpolate` (`nn.Upsample`) in `nearest`
/// mode and `bilinear` mode with `align_corners` either way: `(N, C, H, W)` → `(N, C, H', W')`.
public struct UpsampleAttributes: Hashable, Sendable {
    public enum Mode: Hashable, Sendable {
        /// `src = floor(dst · in / out)` (PyTorch's legacy `nearest`).
        case nearest
        /// Linear in both axes; `alignCorners`: the corner pixels of input and output coincide (milesial's U-Net);
        /// else half-pixel centres (PyTorch's default).
        case bilinear(alignCorners: Bool)
    }

    public var mode: Mode
    /// `[H', W']`.
    public var size: [Int]

    public init(mode: Mode, size: [Int]) { (self.mode, self.size) = (mode, size) }
}
