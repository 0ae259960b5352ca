import Kernels
import Tensors

/// Differentiable functions that own no parameters, each returning its value and pullback.
/// Mirrors `torch.nn.functional` (and `torch.cat`, `torch.sum`, torchvision's `center_crop`).
public enum Functional {
    /// `max(x, 0)`.
    public static func relu(_ x: Tensor) throws -> (Tensor, Pullback) {
        (try reluForward(x), { dy in try reluBackward(dy, input: x) })
    }

    /// `1 / (1 + exp(−x))`.
    public static func sigmoid(_ x: Tensor) throws -> (Tensor, Pullback) {
        let y = try sigmoidForward(x)
        return (y, { dy in try sigmoidBackward(dy, output: y) })
    }

    /// Softmax over channels (dim 1).
    public static func softmax(_ x: Tensor) throws -> (Tensor, Pullback) {
        let y = try softmaxForward(x)
        return (y, { dy in try softmaxBackward(dy, output: y) })
    }

    /// Channel concatenation (`torch.cat(dim=1)`); the pullback splits the gradient back into one per input.
    public static func concat(_ tensors: [Tensor]) throws -> (Tensor, (Tensor) throws -> [Tensor]) {
        let channels = tensors.map { $0.rank == 4 ? $0.shape[1] : 0 }
        return (try concatForward(tensors), { dy in try concatBackward(dy, channels: channels) })
    }

    /// Zero padding of the spatial dimensions (`F.pad(x, [left, right, top, bottom])`; negative crops).
    public static func pad(_ x: Tensor, _ padding: Padding2d) throws -> (Tensor, Pullback) {
        (try pad2dForward(x, padding), { dy in try pad2dBackward(dy, padding, inputShape: x.shape) })
    }

    /// torchvision's `center_crop` of the spatial dimensions.
    public static func centerCrop(_ x: Tensor, height: Int, width: Int) throws -> (Tensor, Pullback) {
        (try centerCropForward(x, height: height, width: width), { dy in
            try centerCropBackward(dy, inputShape: x.shape)
        })
    }

    /// Elementwise `a + b`; the pullback returns the gradient for both operands (identical).
    public static func add(_ a: Tensor, _ b: Tensor) throws -> (Tensor, (Tensor) throws -> (Tensor, Tensor)) {
        (try a + b, { dy in (dy, dy) })
    }

    /// Sum over `axes` (`x.sum(dim=axes)`); the pullback expands the gradient back along them.
    public static func sum(_ x: Tensor, alongAxes axes: [Int]) throws -> (Tensor, Pullback) {
        (try x.sum(alongAxes: axes), { dy in try dy.expanded(to: x.shape, alongAxes: axes) })
    }

    /// Mean over `axes` (`x.mean(dim=axes)`); the pullback spreads the gradient evenly.
    public static func mean(_ x: Tensor, alongAxes axes: [Int]) throws -> (Tensor, Pullback) {
        let y = try x.mean(alongAxes: axes)
        let n = x.count / max(y.count, 1)
        return (y, { dy in (1 / Float(max(n, 1))) * (try dy.expanded(to: x.shape, alongAxes: axes)) })
    }
}
