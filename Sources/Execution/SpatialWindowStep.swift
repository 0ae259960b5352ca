import DNNL

/// Copies between an activation and a same-channel window of a larger one, by reorders on a sub-memory view:
/// zero-padding the up-sampled map to the skip's size (milesial's `F.pad`), center-cropping the skip
/// (torchvision's `center_crop`), and the opposite copies for gradients.
final class SpatialWindowStep {
    private let small: Memory
    private let large: Memory
    private let view: MemoryDescriptor
    private let toLarge: Reorder
    private let toSmall: Reorder

    /// - Parameters:
    ///   - small: `(N, C, h, w)`; `large`: `(N, C, H, W)` with `H ≥ h`, `W ≥ w`, same layout family.
    ///   - offset: `(top, left)` of the window in `large`.
    ///   - zeroBorder: zero `large` now, so that the part outside the window reads as zero padding; `large`
    ///     must then have storage of its own (not an arena slot, which gets its storage later).
    init(small: Memory, large: Memory, offset: (Int, Int), zeroBorder: Bool) throws {
        self.small = small
        self.large = large
        if zeroBorder { large.dataPointer.initializeMemory(as: UInt8.self, repeating: 0, count: large.descriptor.byteCount) }
        view = try large.descriptor.submemory(dims: small.descriptor.dims, offsets: [0, 0, offset.0, offset.1])
        toLarge = try Reorder(from: small.descriptor, to: view)
        toSmall = try Reorder(from: view, to: small.descriptor)
    }

    /// The window, over `large`'s storage as it is now (arena slots receive theirs after construction).
    private func window() throws -> Memory { try Memory(view, pointer: large.dataPointer, owner: large) }

    /// `small` → its window of `large`.
    func insert() throws { try toLarge(small, try window()) }

    /// The window of `large` → `small`.
    func extract() throws { try toSmall(try window(), small) }
}
