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
    public var frozen: Set<Int> = []

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

    /// Which parameters have no momentum buffer at the start of the step (their first step: `buf = d`).
    private var starting: [Bool] = []

    public func beginStep() { starting = buffers.map { $0 == nil } }

    public func update(parameterAt index: Int, elements: Range<Int>, gradient: UnsafeBufferPointer<Float>) {
        guard !frozen.contains(index) else { return }
        let (lr, mu, damp, wd, nesterov) = (learningRate, momentumValue, dampening, weightDecay, self.nesterov)
        let parameter = parameters[index]
        precondition(gradient.count == elements.count && elements.upperBound <= parameter.value.count,
                     "SGD: gradient of \(gradient.count) for elements \(elements) of \(parameter.value.count)")
        // Without `beginStep()` (a whole-parameter update on its own), the buffer's absence says it.
        let firstStep = index < starting.count ? starting[index] : buffers[index] == nil
        var buffer = mu != 0 ? buffers[index] ?? Tensor.empty(shape: parameter.value.shape) : Tensor.empty(shape: [0])
        buffers[index] = nil  // the buffer is uniquely referenced while it is updated in place
        parameter.value.withUnsafeMutableBufferPointer { p in
            buffer.withUnsafeMutableBufferPointer { b in
                let start = elements.lowerBound
                let (pp, bp, gp) = (p.baseAddress! + start, b.baseAddress.map { $0 + start }, gradient.baseAddress!)
                parallelChunks(elements.count) { range in
                    for i in range {
                        var d = gp[i]
                        if wd != 0 { d += wd * pp[i] }
                        if mu != 0, let bp {
                            bp[i] = firstStep ? d : mu * bp[i] + (1 - damp) * d
                            d = nesterov ? d + mu * bp[i] : bp[i]
                        }
                        pp[i] += -lr * d
                    }
                }
            }
        }
        if mu != 0 { buffers[index] = buffer }
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
