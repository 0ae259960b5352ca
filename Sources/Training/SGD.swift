import NN
import Tensors

/// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay. Mirrors
/// `torch.optim.SGD` (https://pytorch.org/docs/stable/generated/torch.optim.SGD.html):
/// `d = g + wd·p`; `buf = d` on the first step, else `buf = μ·buf + (1 − dampening)·d`; `d = d + μ·buf`
/// (Nesterov) or `d = buf`; `p −= lr·d`.
public final class SGD: Optimizer {
    public var learningRate: Float
    public var momentumValue: Float
    public let dampening: Float
    public let nesterov: Bool
    public let weightDecay: Float
    public let parameters: [Parameter]
    public private(set) var buffers: [Tensor?]

    public init(parameters: [Parameter], learningRate: Float, momentum: Float = 0, dampening: Float = 0,
                nesterov: Bool = false, weightDecay: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        momentumValue = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        buffers = parameters.map { _ in nil }
    }

    public var momentum: Float? {
        get { momentumValue }
        set { if let newValue { momentumValue = newValue } }
    }

    public func update() {
        let (lr, mu, damp, wd) = (learningRate, momentumValue, dampening, weightDecay)
        for index in parameters.indices {
            let parameter = parameters[index]
            var d = parameter.grad
            if wd != 0 { try? d.add(parameter.value, scaledBy: wd) }
            if mu != 0 {
                if var buffer = buffers[index] {
                    buffer.withUnsafeMutableBufferPointer { b in
                        d.withUnsafeBufferPointer { g in for i in 0..<b.count { b[i] = mu * b[i] + (1 - damp) * g[i] } }
                    }
                    buffers[index] = buffer
                } else {
                    buffers[index] = d
                }
                if nesterov { try? d.add(buffers[index]!, scaledBy: mu) } else { d = buffers[index]! }
            }
            try? parameter.value.add(d, scaledBy: -lr)
        }
    }

    public var state: OptimizerState {
        OptimizerState(tensors: buffers.enumerated().compactMap { i, b in b.map { ("\(i).momentum_buffer", $0) } },
                       numbers: ["momentum": Double(momentumValue)])
    }

    public func restore(_ state: OptimizerState) throws {
        let byKey = Dictionary(state.tensors.map { ($0.key, $0.tensor) }, uniquingKeysWith: { a, _ in a })
        buffers = try parameters.enumerated().map { i, p in
            guard let b = byKey["\(i).momentum_buffer"] else { return nil }
            guard b.shape == p.value.shape else { throw TensorError("optimizer state", "momentum buffer \(i) shape \(b.shape)") }
            return b
        }
        momentumValue = Float(state.numbers["momentum"] ?? Double(momentumValue))
    }
}
