import NN
import Tensors

/// Updates parameters from their gradients. Mirrors `torch.optim.Optimizer`: `learningRate` and `momentum`
/// (SGD's momentum, RMSprop's momentum, Adam's β1) are the parameter group's settings that schedules change.
///
/// A step is `beginStep()` then `update(parameterAt:gradient:)` once per parameter, in any order: every
/// update is element-wise, so a compiled network can apply each parameter's update as soon as backward has
/// its gradient and never store `.grad` (`update()` does the same from `.grad`, PyTorch's `optimizer.step()`).
public protocol Optimizer: AnyObject {
    var parameters: [Parameter] { get }
    var learningRate: Float { get set }
    /// The momentum-like setting a one-cycle schedule cycles (nil if the optimizer has none).
    var momentum: Float? { get set }
    /// Starts a step: counts it and fixes its settings (learning rate, momentum, bias corrections).
    func beginStep()
    /// Updates `parameters[index]` from `gradient`, its elements in the parameter's row-major order.
    /// - Precondition: `gradient.count == parameters[index].value.count`, after `beginStep()`.
    func update(parameterAt index: Int, gradient: UnsafeBufferPointer<Float>)
    /// Everything needed to continue exactly after a restart.
    var state: OptimizerState { get }
    /// Restores `state` as `state` returned it.
    /// - Throws: `TensorError` when the state does not fit these parameters.
    func restore(_ state: OptimizerState) throws
}

extension Optimizer {
    /// One update of every parameter from its `.grad` (zeros where none was written).
    public func update() {
        beginStep()
        for index in parameters.indices {
            parameters[index].grad.withUnsafeBufferPointer { update(parameterAt: index, gradient: $0) }
        }
    }

    /// One step whose gradients `produce` hands over, each as soon as it has it (a compiled network's
    /// `backward(_:applying:)`): no `.grad` is stored. Parameters it never hands over are updated with a zero
    /// gradient, as `update()` would; gradients of parameters this optimizer does not own are ignored.
    public func step(_ produce: ((Parameter, UnsafeBufferPointer<Float>) throws -> Void) throws -> Void) throws {
        beginStep()
        let indices = Dictionary(parameters.enumerated().map { (ObjectIdentifier($1), $0) },
                                 uniquingKeysWith: { first, _ in first })
        var updated = [Bool](repeating: false, count: parameters.count)
        try produce { parameter, gradient in
            guard let index = indices[ObjectIdentifier(parameter)], !updated[index] else { return }
            update(parameterAt: index, gradient: gradient)
            updated[index] = true
        }
        for index in parameters.indices where !updated[index] {
            Tensor(shape: parameters[index].value.shape).withUnsafeBufferPointer { update(parameterAt: index, gradient: $0) }
        }
    }
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
