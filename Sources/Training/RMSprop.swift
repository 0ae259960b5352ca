import NN
import Tensors

/// RMSprop. Mirrors `torch.optim.RMSprop` (https://pytorch.org/docs/stable/generated/torch.optim.RMSprop.html),
/// non-centered: `g = g + wd·p`; `s = α·s + (1 − α)·g²`; `avg = √s + ε`; with momentum
/// `buf = μ·buf + g / avg`, `p −= lr·buf`, else `p −= lr·g / avg`. milesial's defaults: lr 1e-5,
/// weight decay 1e-8, momentum 0.999.
public final class RMSprop: Optimizer {
    public var learningRate: Float
    public var momentumValue: Float
    public let alpha: Float
    public let epsilon: Float
    public let weightDecay: Float
    public let parameters: [Parameter]
    public private(set) var squareAverages: [Tensor]
    public private(set) var buffers: [Tensor]
    public var frozen: Set<Int> = []

    public init(parameters: [Parameter], learningRate: Float = 1e-2, alpha: Float = 0.99, epsilon: Float = 1e-8,
                weightDecay: Float = 0, momentum: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.alpha = alpha
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        momentumValue = momentum
        squareAverages = parameters.map { Tensor(shape: $0.value.shape) }
        buffers = parameters.map { Tensor(shape: $0.value.shape) }
    }

    public var momentum: Float? {
        get { momentumValue }
        set { if let newValue { momentumValue = newValue } }
    }

    public func beginStep() {}

    public func update(parameterAt index: Int, elements: Range<Int>, gradient gp: UnsafeBufferPointer<Float>) {
        guard !frozen.contains(index) else { return }
        let kernel = RMSpropKernel(learningRate: learningRate, alpha: alpha, epsilon: epsilon, weightDecay: weightDecay,
                                   momentum: momentumValue)
        parameters[index].value.withUnsafeMutableBufferPointer { p in
            precondition(gp.count == elements.count && elements.upperBound <= p.count,
                         "RMSprop: gradient of \(gp.count) for elements \(elements) of \(p.count)")
            squareAverages[index].withUnsafeMutableBufferPointer { s in
                buffers[index].withUnsafeMutableBufferPointer { b in
                    let start = elements.lowerBound
                    let (pp, sp, bp) = (p.baseAddress! + start, s.baseAddress! + start, b.baseAddress! + start)
                    let g = gp.baseAddress!
                    parallelChunks(elements.count) { range in kernel.run(pp, sp, bp, g, range) }
                }
            }
        }
    }

    public var state: OptimizerState {
        OptimizerState(
            tensors: squareAverages.enumerated().map { ("\($0.offset).square_avg", $0.element) }
                + buffers.enumerated().map { ("\($0.offset).momentum_buffer", $0.element) },
            numbers: ["momentum": Double(momentumValue)])
    }

    public func restore(_ state: OptimizerState) throws {
        let shapes = parameters.map(\.value.shape)
        squareAverages = try state.buffers("square_avg", shapes: shapes)
        buffers = try state.buffers("momentum_buffer", shapes: shapes)
        momentumValue = Float(state.numbers["momentum"] ?? Double(momentumValue))
    }
}
