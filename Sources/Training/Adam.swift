import Dispatch
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
    }

    public var momentum: Float? {
        get { beta1 }
        set { if let newValue { beta1 = newValue } }
    }

    public func update() {
        step += 1
        let t = Float(step)
        let stepSize = learningRate / (1 - pow(beta1, t))
        let correction2 = (1 - pow(beta2, t)).squareRoot()
        let (b1, b2, eps, lr, wd, decoupled) = (beta1, beta2, epsilon, learningRate, weightDecay, self.decoupled)
        for index in parameters.indices {
            let parameter = parameters[index]
            let gradient = parameter.grad
            parameter.value.withUnsafeMutableBufferPointer { p in
                firstMoments[index].withUnsafeMutableBufferPointer { m in
                    secondMoments[index].withUnsafeMutableBufferPointer { v in
                        gradient.withUnsafeBufferPointer { g in
                            let (pp, mp, vp, gp) = (p.baseAddress!, m.baseAddress!, v.baseAddress!, g.baseAddress!)
                            parallelChunks(p.count) { range in
                                for i in range {
                                    var grad = gp[i]
                                    if decoupled { pp[i] *= 1 - lr * wd } else if wd != 0 { grad += wd * pp[i] }
                                    mp[i] = b1 * mp[i] + (1 - b1) * grad
                                    vp[i] = b2 * vp[i] + (1 - b2) * grad * grad
                                    pp[i] -= stepSize * mp[i] / (vp[i].squareRoot() / correction2 + eps)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public var state: OptimizerState {
        OptimizerState(
            tensors: firstMoments.enumerated().map { ("\($0.offset).exp_avg", $0.element) }
                + secondMoments.enumerated().map { ("\($0.offset).exp_avg_sq", $0.element) },
            numbers: ["step": Double(step), "beta1": Double(beta1)])
    }

    public func restore(_ state: OptimizerState) throws {
        let shapes = parameters.map(\.value.shape)
        firstMoments = try state.buffers("exp_avg", shapes: shapes)
        secondMoments = try state.buffers("exp_avg_sq", shapes: shapes)
        step = Int(state.numbers["step"] ?? 0)
        beta1 = Float(state.numbers["beta1"] ?? Double(beta1))
    }
}

/// Runs `body` over `0..<count` split into contiguous chunks, on all cores for large counts. The chunks
/// are disjoint, so `body` may write through the pointers it captured.
func parallelChunks(_ count: Int, _ body: (Range<Int>) -> Void) {
    let chunks = count < 1 << 16 ? 1 : min(ProcessInfo.processInfo.activeProcessorCount, 8)
    let size = (count + chunks - 1) / max(chunks, 1)
    withoutActuallyEscaping(body) { body in
        let shared = UncheckedSendable(value: body)
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            shared.value((chunk * size)..<min(count, (chunk + 1) * size))
        }
    }
}

/// Hands a non-Sendable value to concurrent workers that use it on disjoint data.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
}
