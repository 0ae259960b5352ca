import NN
import Tensors

/// Updates parameters from their gradients. Mirrors `torch.optim.Optimizer`: `learningRate` and `momentum`
/// (SGD's momentum, RMSprop's momentum, Adam's β1) are the parameter group's settings that schedules change.
///
/// A step is `beginStep()` then `update(parameterAt:elements:gradient:)` once for every element of every
/// parameter, in any order and in pieces of any size: every update is element-wise, so a compiled network can
/// apply each piece of a gradient as soon as backward has it and never store `.grad` (`update()` does the
/// same from `.grad`, PyTorch's `optimizer.step()`).
public protocol Optimizer: AnyObject {
    var parameters: [Parameter] { get }
    var learningRate: Float { get set }
    /// The momentum-like setting a one-cycle schedule cycles (nil if the optimizer has none).
    var momentum: Float? { get set }
    /// Indices of parameters left alone, as PyTorch leaves parameters whose gradient is None (`requires_grad=False`,
    /// a frozen encoder): no update, no state, no step counted for them.
    var frozen: Set<Int> { get set }
    /// Starts a step: counts it and fixes its settings (learning rate, momentum, bias corrections).
    func beginStep()
    /// Updates elements `elements` (row-major) of `parameters[index]` from `gradient`, their gradient.
    /// - Precondition: `gradient.count == elements.count`, within the parameter, after `beginStep()`; no
    ///   element is updated twice in a step.
    func update(parameterAt index: Int, elements: Range<Int>, gradient: UnsafeBufferPointer<Float>)
    /// Everything needed to continue exactly after a restart.
    var state: OptimizerState { get }
    /// Restores `state` as `state` returned it.
    /// - Throws: `TensorError` when the state does not fit these parameters.
    func restore(_ state: OptimizerState) throws
}

extension Optimizer {
    /// Updates the whole of `parameters[index]` from `gradient`.
    public func update(parameterAt index: Int, gradient: UnsafeBufferPointer<Float>) {
        update(parameterAt: index, elements: 0..<gradient.count, gradient: gradient)
    }

    /// One update of every parameter from its `.grad` (zeros where none was written).
    public func update() {
        beginStep()
        for index in parameters.indices {
            parameters[index].grad.withUnsafeBufferPointer { update(parameterAt: index, gradient: $0) }
        }
    }

    /// One step whose gradients `produce` hands over, piece by piece (`deliver(parameter, elements, gradient)`),
    /// each as soon as it has it (a compiled network's `backward(_:applying:)`): no `.grad` is stored.
    /// Parameters it never hands over are updated with a zero gradient, as `update()` would; gradients of
    /// parameters this optimizer does not own are ignored.
    /// - Precondition: `produce` hands over every element of a parameter once, or none of them.
    public func step(
        _ produce: ((Parameter, Range<Int>, UnsafeBufferPointer<Float>) throws -> Void) throws -> Void
    ) throws {
        beginStep()
        let indices = Dictionary(parameters.enumerated().map { (ObjectIdentifier($1), $0) },
                                 uniquingKeysWith: { first, _ in first })
        var handed = [Int](repeating: 0, count: parameters.count)
        try produce { parameter, elements, gradient in
            guard let index = indices[ObjectIdentifier(parameter)] else { return }
            precondition(handed[index] + elements.count <= parameters[index].value.count,
                         "Optimizer.step: more gradient elements than parameter elements")
            update(parameterAt: index, elements: elements, gradient: gradient)
            handed[index] += elements.count
        }
        for index in parameters.indices where handed[index] != parameters[index].value.count {
            precondition(handed[index] == 0, "Optimizer.step: parameter \(index) handed over in part")
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
    for p in parameters { p.grad.withUnsafeBufferPointer { total += sumOfSquares($0) } }
    let norm = Float(total.squareRoot())
    let scale = maximum / (norm + 1e-6)
    if scale < 1 {
        for p in parameters { p.grad.withUnsafeMutableBufferPointer { g in for i in g.indices { g[i] *= scale } } }
    }
    return norm
}

/// `Σ v²` over `values`: eight float32 lanes over blocks of 1024 elements, the blocks' sums added in double.
private func sumOfSquares(_ values: UnsafeBufferPointer<Float>) -> Double {
    typealias V = SIMD8<Float>
    guard let base = values.baseAddress else { return 0 }
    let raw = UnsafeRawPointer(base)
    var (total, i) = (0.0, 0)
    while i < values.count {
        let end = min(i + 1024, values.count)
        var lanes = V()
        while i + V.scalarCount <= end {
            let v = raw.loadUnaligned(fromByteOffset: i * MemoryLayout<Float>.stride, as: V.self)
            lanes += v * v
            i += V.scalarCount
        }
        var block = Double(lanes.sum())
        while i < end {
            block += Double(base[i]) * Double(base[i])
            i += 1
        }
        total += block
    }
    return total
}
