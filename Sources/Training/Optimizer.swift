import NN
import Tensors

/// Updates parameters from their gradients. Mirrors `torch.optim.Optimizer`: `learningRate` and `momentum`
/// (SGD's momentum, RMSprop's momentum, Adam's β1) are the parameter group's settings that schedules change.
public protocol Optimizer: AnyObject {
    var parameters: [Parameter] { get }
    var learningRate: Float { get set }
    /// The momentum-like setting a one-cycle schedule cycles (nil if the optimizer has none).
    var momentum: Float? { get set }
    /// One update of every parameter from its `.grad`.
    func update()
    /// Everything needed to continue exactly after a restart.
    var state: OptimizerState { get }
    /// Restores `state` as `state` returned it.
    /// - Throws: `TensorError` when the state does not fit these parameters.
    func restore(_ state: OptimizerState) throws
}

/// An optimizer's state for checkpoints: named tensors (per-parameter buffers) and numbers.
public struct OptimizerState: Sendable {
    public var tensors: [(key: String, tensor: Tensor)]
    public var numbers: [String: Double]

    public init(tensors: [(key: String, tensor: Tensor)] = [], numbers: [String: Double] = [:]) {
        self.tensors = tensors
        self.numbers = numbers
    }

    /// The buffers named `name` for each of `count` parameters (`"<index>.<name>"`), checked against `shapes`.
    func buffers(_ name: String, shapes: [[Int]]) throws -> [Tensor] {
        let byKey = Dictionary(tensors.map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        return try shapes.enumerated().map { index, shape in
            guard let tensor = byKey["\(index).\(name)"], tensor.shape == shape else {
                throw TensorError("optimizer state", "buffer \(index).\(name) missing or not of shape \(shape)")
            }
            return tensor
        }
    }
}

/// Scales all gradients so that their global L2 norm is at most `maximum`. Mirrors
/// `torch.nn.utils.clip_grad_norm_(parameters, maximum)` (scale `maximum / (norm + 1e-6)` when above).
/// - Returns: the norm before clipping.
@discardableResult
public func clipGradientNorm(_ parameters: [Parameter], maximum: Float) -> Float {
    var total: Double = 0
    for p in parameters { p.grad.withUnsafeBufferPointer { g in for v in g { total += Double(v) * Double(v) } } }
    let norm = Float(total.squareRoot())
    let scale = maximum / (norm + 1e-6)
    if scale < 1 { for p in parameters { p.grad = scale * p.grad } }
    return norm
}
