/// Spatial padding. Mirrors `torch.nn.functional.pad(x, [left, right, top, bottom], mode)` for non-negative
/// amounts: `(N, C, H, W)` → `(N, C, H + top + bottom, W + left + right)`.
public struct PadAttributes: Hashable, Sendable {
    public enum Mode: Hashable, Sendable {
        /// Zeros (`mode="constant"`, value 0).
        case zeros
        /// The border pixel repeated (`mode="replicate"`).
        case replicate
        /// Mirrored without repeating the border (`mode="reflect"`); each amount smaller than the axis.
        case reflect
    }

    /// `[top, bottom, left, right]`.
    public var amounts: [Int]
    public var mode: Mode

    public init(top: Int, bottom: Int, left: Int, right: Int, mode: Mode = .zeros) {
        (amounts, self.mode) = ([top, bottom, left, right], mode)
    }

    public var isZero: Bool { amounts.allSatisfy { $0 == 0 } }
}
