import DNNL

/// Copies between an activation and a same-channel window of a larger one, by reorders on a sub-memory view:
/// zero-padding the up-sampled map to the skip's size (milesial's `F.pad`), center-cropping the skip
/// (torchvision's `center_crop`), and the opposite copies for gradients.
final class SpatialWindowStep {
    private let small: Memory
    private let window: Memory
    private let toLarge: Reorder
    private let toSmall: Reorder

    /// - Parameters:
    ///   - small: `(N, C, h, w)`; `large`: `(N, C, H, W)` with `H ≥ h`, `W ≥ w`, same layout family.
    ///   - offset: `(top, left)` of the window in `large`.
    ///   - zeroBorder: zero `large` once, so that the part outside the window reads as zero padding.
    init(small: Memory, large: Memory, offset: (Int, Int), zeroBorder: Bool) throws {
        self.small = small
        if zeroBorder { large.dataPointer.initializeMemory(as: UInt8.self, repeating: 0, count: large.descriptor.byteCount) }
        let view = try large.descriptor.submemory(dims: small.descriptor.dims, offsets: [0, 0, offset.0, offset.1])
        window = try Memory(view, pointer: large.dataPointer, owner: large)
        toLarge = try Reorder(from: small.descriptor, to: view)
        toSmall = try Reorder(from: view, to: small.descriptor)
    }

    /// `small` → its window of `large`.
    func insert() throws { try toLarge(small, window) }

    /// The window of `large` → `small`.
    func extract() throws { try toSmall(window, small) }
}
