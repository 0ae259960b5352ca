import Kernels
import NN
import Tensors

/// How a decoder level joins the up-sampled map with the encoder's skip map, per the configuration:
/// pad the up-sampled map to the skip's size (milesial's `F.pad` with Python's `//`) or center-crop the skip
/// (torchvision's `center_crop`), then concatenate in the configured order.
struct SkipConnection {
    let merge: UNetConfiguration.SkipMerge
    let order: UNetConfiguration.ConcatOrder

    /// The padding that brings `upsampled` `(N, C, h, w)` to the skip's `(H, W)`.
    static func padding(upsampled: [Int], skip: [Int]) -> Padding2d {
        let (dy, dx) = (skip[2] - upsampled[2], skip[3] - upsampled[3])
        return Padding2d(left: floorHalf(dx), right: dx - floorHalf(dx), top: floorHalf(dy), bottom: dy - floorHalf(dy))
    }

    /// The concatenation `(N, C_u + C_s, H', W')`, without a pullback (inference).
    func callAsFunction(upsampled: Tensor, skip: Tensor) throws -> Tensor {
        var (u, s) = (upsampled, skip)
        switch merge {
        case .pad:
            let p = Self.padding(upsampled: u.shape, skip: s.shape)
            if p != Padding2d(left: 0, right: 0, top: 0, bottom: 0) { u = try pad2dForward(u, p) }
        case .crop:
            if s.shape[2...] != u.shape[2...] { s = try centerCropForward(s, height: u.shape[2], width: u.shape[3]) }
        }
        return try concatForward(order == .skipFirst ? [s, u] : [u, s])
    }

    /// The concatenation and a pullback returning the gradients for `(upsampled, skip)`.
    func forward(upsampled: Tensor, skip: Tensor) throws -> (Tensor, (Tensor) throws -> (Tensor, Tensor)) {
        var (u, s) = (upsampled, skip)
        var upsampledBack: Pullback = { $0 }
        var skipBack: Pullback = { $0 }
        switch merge {
        case .pad:
            let p = Self.padding(upsampled: u.shape, skip: s.shape)
            if p != Padding2d(left: 0, right: 0, top: 0, bottom: 0) { (u, upsampledBack) = try Functional.pad(u, p) }
        case .crop:
            if s.shape[2...] != u.shape[2...] {
                (s, skipBack) = try Functional.centerCrop(s, height: u.shape[2], width: u.shape[3])
            }
        }
        let skipFirst = order == .skipFirst
        let (y, concatBack) = try Functional.concat(skipFirst ? [s, u] : [u, s])
        return (y, { dy in
            let parts = try concatBack(dy)
            let (dSkip, dUpsampled) = skipFirst ? (parts[0], parts[1]) : (parts[1], parts[0])
            return (try upsampledBack(dUpsampled), try skipBack(dSkip))
        })
    }
}
