import Foundation
import NN
import Tensors

/// Adam and AdamW. Mirrors `torch.optim.Adam` / `torch.optim.AdamW`
/// (https://pytorch.org/docs/stable/generated/torch.optim.Adam.html), float32, non-amsgrad, in PyTorch's order
/// of operations: `m = β1·m + (1 − β1)·g`, `v = β2·v + (1 − β2)·g²`,
/// `p −= (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)`. Adam adds `weight_decay·p` to the gradient; AdamW
/// multiplies `p` by `1 − lr·weight_decay` first. The update runs on all cores in chunks.
public final class Adam: Optimizer {
    public var learningRate: Float
    public var beta1: Float
    public let beta2: Float
    public let epsilon: Float
    public let weightDecay: Float
    /// AdamW's decoupled weight decay instead of Adam's L2 term.
    public let decoupled: Bool
    public let parameters: [Parameter]
    /// First and second moments, one per parameter (PyTorch's `exp_avg`, `exp_avg_sq`).
    public private(set) var firstMoments: [Tensor]
    public private(set) var secondMoments: [Tensor]
    /// Steps taken (PyTorch's `state['step']`).
    public private(set) var step = 0
    /// Steps each parameter took: fewer than `step` for one that was frozen (PyTorch keeps `step` per parameter,
    /// counted from its first gradient).
    public private(set) var steps: [Int]
    public var frozen: Set<Int> = []

    public init(parameters: [Parameter], learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
                epsilon: Float = 1e-8, weightDecay: Float = 0, decoupled: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.decoupled = decoupled
        firstMoments = parameters.map { Tensor(shape: $0.value.shape) }
        secondMoments = parameters.map { Tensor(shape: $0.value.shape) }
        steps = Array(repeating: 0, count: parameters.count)
    }

    public var momentum: Float? {
        get { beta1 }
        set { if let newValue { beta1 = newValue } }
    }

    public func beginStep() {
        step += 1
        for index in steps.indices where !frozen.contains(index) { steps[index] += 1 }
    }

    public func update(parameterAt index: Int, elements: Range<Int>, gradient: UnsafeBufferPointer<Float>) {
        guard !frozen.contains(index) else { return }
        // `lr / (1 − β1^t)` and `√(1 − β2^t)` of the parameter's own step t.
        let t = Float(max(steps[index], 1))
        let settings = AdamKernel(beta1: beta1, beta2: beta2, epsilon: epsilon, learningRate: learningRate,
                                  weightDecay: weightDecay, decoupled: decoupled, stepSize: learningRate / (1 - pow(beta1, t)),
                                  correction2: (1 - pow(beta2, t)).squareRoot())
        parameters[index].value.withUnsafeMutableBufferPointer { p in
            firstMoments[index].withUnsafeMutableBufferPointer { m in
                secondMoments[index].withUnsafeMutableBufferPointer { v in
                    precondition(gradient.count == elements.count && elements.upperBound <= p.count,
                                 "Adam: gradient of \(gradient.count) for elements \(elements) of \(p.count)")
                    let start = elements.lowerBound
                    let (pp, mp, vp) = (p.baseAddress! + start, m.baseAddress! + start, v.baseAddress! + start)
                    let gp = gradient.baseAddress!
                    parallelChunks(elements.count) { range in settings.run(pp, mp, vp, gp, range) }
                }
            }
        }
    }

    public var state: OptimizerState {
        OptimizerState(
            tensors: firstMoments.enumerated().map { ("\($0.offset).exp_avg", $0.element) }
                + secondMoments.enumerated().map { ("\($0.offset).exp_avg_sq", $0.element) },
            numbers: ["step": Double(step), "beta1": Double(beta1)].merging(
                steps.allSatisfy { $0 == step } ? [:] : Dictionary(uniqueKeysWithValues: steps.enumerated().map { ("step.\($0.offset)", Double($0.element)) })
            ) { a, _ in a })
    }

    public func restore(_ state: OptimizerState) throws {
        let shapes = parameters.map(\.value.shape)
        firstMoments = try state.buffers("exp_avg", shapes: shapes)
        secondMoments = try state.buffers("exp_avg_sq", shapes: shapes)
        step = Int(state.numbers["step"] ?? 0)
        steps = parameters.indices.map { Int(state.numbers["step.\($0)"] ?? Double(step)) }
        beta1 = Float(state.numbers["beta1"] ?? Double(beta1))
    }
}
